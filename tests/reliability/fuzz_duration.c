/*
 * fuzz_duration.c - libFuzzer harness for ward(1)'s duration parser,
 * parse_duration() in cli/util.c (--timeout, --kill-after).
 *
 * The reference is ward(1): a decimal number of seconds ("10", "1.5"), or
 * a number with a unit, "ms", "s", "m", "h" or "d"; anything else (empty,
 * negative, junk, too large for a signed 64-bit count of nanoseconds) is
 * refused.  The reference computes the exact value with 128-bit integers;
 * the parser may be off by a nanosecond or two, since it sums the fraction
 * in a double.
 */
#include "fuzz.h"

#include "util.h"

typedef __int128 i128;

#define MAXI64 ((i128)INT64_MAX)
#define BIG ((i128)1 << 70) /* far above INT64_MAX, and BIG * mult fits */

/*
 * 0 accepted, with *lo <= the exact value < *lo + 1 (in ns); -1 refused
 * (syntax); -2 refused (too large; *lo set if it fits 128 bits, else BIG).
 */
static int reference(const char *s, i128 *lo)
{
    static const struct {
        const char *unit;
        i128 mult;
    } units[] = {
        {"", 1000000000}, {"s", 1000000000}, {"ms", 1000000},
        {"m", (i128)60 * 1000000000}, {"h", (i128)3600 * 1000000000},
        {"d", (i128)86400 * 1000000000},
    };
    i128 whole = 0, fnum = 0, fden = 1, mult = 0;
    int digits = 0, fdigits = 0;

    for (; *s >= '0' && *s <= '9'; s++, digits++)
        if ((whole = whole * 10 + (*s - '0')) > BIG)
            whole = BIG;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            /* 20 digits are exact to well below a nanosecond. */
            if (fdigits < 20) {
                fnum = fnum * 10 + (*s - '0');
                fden *= 10;
                fdigits++;
            }
        }
    }
    if (digits == 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(s, units[i].unit) == 0)
            mult = units[i].mult;
    if (mult == 0)
        return -1;
    if (whole >= BIG) {
        *lo = BIG;
        return -2;
    }
    *lo = whole * mult + fnum * mult / fden;
    return *lo > MAXI64 ? -2 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_str(data, size);
    nsec_t ns = -12345;
    i128 lo = 0;
    int r, want;

    fuzz_quiet();
    r = parse_duration(s, &ns);
    want = reference(s, &lo);
    if (r == 0 && want == 0) {
        i128 d = (i128)ns - lo;
        FUZZ_CHECK(d >= -2 && d <= 2, "\"%s\": %lld ns, expected %lld", s, (long long)ns,
                   (long long)lo);
    } else if (r == 0) {
        /* Only rounding at the very top of the range may let one more in. */
        FUZZ_CHECK(want == -2 && lo <= MAXI64 + 2, "\"%s\" accepted as %lld ns, but it is %s",
                   s, (long long)ns, want == -1 ? "not a duration" : "too large");
    } else {
        FUZZ_CHECK(r == -1, "\"%s\": parse_duration returned %d", s, r);
        FUZZ_CHECK(want != 0 || lo > MAXI64 - 3, "\"%s\" refused, but it is %lld ns", s,
                   (long long)lo);
        FUZZ_CHECK(ns == -12345, "\"%s\": *out written on failure", s);
    }
    free(s);
    return 0;
}
