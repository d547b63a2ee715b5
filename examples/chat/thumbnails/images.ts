// What counts as an image here: something sharp can decode, in one of the web's formats.
import sharp from 'sharp';

const TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heif: 'image/heif',
  tiff: 'image/tiff',
};

/** The image's real content type (read from its bytes, not from what the client said), or null. */
export async function imageType(data: Buffer): Promise<string | null> {
  try {
    const { format, width, height } = await sharp(data).metadata();
    if (!format || !width || !height) return null;
    return TYPES[format] ?? null;
  } catch {
    return null;
  }
}

/** A WebP that fits in a `size`×`size` square, turned upright as the camera meant it. */
export async function makeThumbnail(data: Buffer, size: number): Promise<Buffer> {
  return sharp(data)
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
}

export const THUMBNAIL_TYPE = 'image/webp';
