/*
 * slowdown.c - WARD_TEST_SLOWDOWN for the Criterion binaries (see common.h).
 *
 * Linked once into each of them: wt_slowdown(), which reads the factor, and
 * the report hook that multiplies Criterion's own per-test timeouts by it
 * before the first test starts.  A ReportHook defines a global symbol, so
 * it must live in exactly one file of a binary, which is why this is not
 * in common.h.
 */
#include "common.h"

#include <criterion/hooks.h>
#include <criterion/internal/ordered-set.h>

long wt_slowdown(void)
{
    static atomic_long factor; /* 0 until read */
    long f = atomic_load_explicit(&factor, memory_order_relaxed);

    if (f == 0) {
        /* The runner refuses a bad value (below); 1 if one gets here. */
        f = wt_parse_slowdown(getenv(WT_SLOWDOWN_ENV));
        if (f == 0)
            f = 1;
        atomic_store_explicit(&factor, f, memory_order_relaxed);
    }
    return f;
}

static void wt_stretch(struct criterion_test_extra_data *data, long f)
{
    /* 0 means no timeout at all: it stays so. */
    if (data != NULL && data->timeout > 0)
        data->timeout *= (double)f;
}

static void wt_stretch_suite(struct criterion_suite_set *s, long f)
{
    wt_stretch(s->suite.data, f);
    if (s->tests == NULL)
        return;
    FOREACH_SET(struct criterion_test *t, s->tests)
        wt_stretch(t->data, f);
}

/* In the runner, before any test runs. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    const char *v = getenv(WT_SLOWDOWN_ENV);
    long f;

    if (wt_parse_slowdown(v) == 0) {
        fprintf(stderr, "%s=\"%s\": expected a whole number from 1 to %d\n",
                WT_SLOWDOWN_ENV, v, WT_SLOWDOWN_MAX);
        fflush(NULL);
        exit(2);
    }
    f = wt_slowdown();
    if (f == 1 || set == NULL || set->suites == NULL)
        return;
    FOREACH_SET(struct criterion_suite_set *s, set->suites)
        wt_stretch_suite(s, f);
}
