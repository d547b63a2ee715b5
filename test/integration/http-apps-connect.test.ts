// Connect mounted with nodeHttpApp, served by the interface server (see http-apps-suite.ts).
import { connectHandler } from './http-apps-fixtures.js';
import { frameworkSuite } from './http-apps-suite.js';

frameworkSuite('Connect', connectHandler);
