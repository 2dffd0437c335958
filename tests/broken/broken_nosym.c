/* A shared object that is not a recur backend: it lacks the entry symbol. */
__attribute__((visibility("default"))) int some_other_function(void) { return 42; }
