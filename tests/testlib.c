#include "testlib.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

int recur_test_main(int argc, char **argv, CU_SuiteInfo *suites) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "cannot register suites: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_ErrorCode err = CUE_SUCCESS;
    if (argc > 1) {
        int found = 0;
        for (CU_SuiteInfo *s = suites; s->pName; s++) {
            CU_pSuite suite = CU_get_suite(s->pName);
            for (CU_TestInfo *t = s->pTests; t->pName; t++) {
                if (strcmp(t->pName, argv[1])) continue;
                found = 1;
                err = CU_basic_run_test(suite, CU_get_test(suite, t->pName));
            }
        }
        if (!found) {
            fprintf(stderr, "no test named '%s'\n", argv[1]);
            CU_cleanup_registry();
            return 2;
        }
    } else {
        err = CU_basic_run_tests();
    }
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return (err != CUE_SUCCESS || failed) ? 1 : 0;
}
