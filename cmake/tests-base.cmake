# Tests of the base area.
suf_add_unit(test_base SOURCES tests/unit/test_base.c)
