// Express mounted with nodeHttpApp, served by the interface server (see http-apps-suite.ts).
import { expressHandler } from './http-apps-fixtures.ts';
import { frameworkSuite } from './http-apps-suite.ts';

frameworkSuite('Express', expressHandler);
