// Fastify mounted with nodeHttpApp, served by the interface server (see http-apps-suite.ts).
import { fastifyHandler } from './http-apps-fixtures.js';
import { frameworkSuite } from './http-apps-suite.js';

frameworkSuite('Fastify', fastifyHandler);
