// Connect mounted with nodeHttpApp, served by the interface server (see http-apps-suite.ts).
import { connectHandler } from './http-apps-fixtures.ts';
import { frameworkSuite } from './http-apps-suite.ts';

frameworkSuite('Connect', connectHandler);
