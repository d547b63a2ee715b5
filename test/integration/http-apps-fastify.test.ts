// Fastify mounted with nodeHttpApp, served by the interface server (see http-apps-suite.ts).
import { fastifyHandler } from './http-apps-fixtures.ts';
import { frameworkSuite } from './http-apps-suite.ts';

frameworkSuite('Fastify', fastifyHandler);
