/* A shared CUnit main: runs every suite, or one test by name (`test_x NAME`), and exits non-zero on
 * failure. Suites are tables of CU_TestInfo filled with designated initializers. */
#ifndef RECUR_TESTLIB_H
#define RECUR_TESTLIB_H

#include <CUnit/CUnit.h>

int recur_test_main(int argc, char **argv, CU_SuiteInfo *suites);

#endif
