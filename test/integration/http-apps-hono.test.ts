// Hono mounted with nodeHttpApp, served by the interface server (see http-apps-suite.ts).
import { honoHandler } from './http-apps-fixtures.ts';
import { frameworkSuite } from './http-apps-suite.ts';

frameworkSuite('Hono', honoHandler);
