/*
 * pidtable.c - the pid -> handle table: every private child that has not
 * been reaped, found by pid.  Under ward__lock, except the lookups that say
 * they are async-signal-safe.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>

/*
 * Chained hash table keyed by pid; grows so chains stay short.  It starts
 * in static storage, so inserting a child that exists can never fail: if
 * growing fails, the chains only get longer.
 */
static ward_child *initial[64];
static ward_child **buckets = initial;
static size_t nbuckets = 64, count;

static size_t
bucket(pid_t pid, size_t n)
{
    return ((uint32_t)pid * 2654435761u) & (n - 1);
}

static int
grow(void)
{
    size_t n = nbuckets * 2;
    ward_child **b = calloc(n, sizeof(*b));

    if (b == NULL)
        return -1;
    for (size_t i = 0; i < nbuckets; i++) {
        ward_child *c = buckets[i], *next;

        for (; c != NULL; c = next) {
            next = c->next;
            c->next = b[bucket(c->ref.pid, n)];
            b[bucket(c->ref.pid, n)] = c;
        }
    }
    if (buckets != initial)
        free(buckets);
    buckets = b;
    nbuckets = n;
    return 0;
}

void
ward__table_insert(ward_child *c)
{
    if (count >= nbuckets)
        (void)grow();
    c->next = buckets[bucket(c->ref.pid, nbuckets)];
    buckets[bucket(c->ref.pid, nbuckets)] = c;
    c->in_table = 1;
    count++;
}

void
ward__table_remove(ward_child *c)
{
    ward_child **pp;

    if (!c->in_table)
        return;
    for (pp = &buckets[bucket(c->ref.pid, nbuckets)]; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    c->next = NULL;
    c->in_table = 0;
    count--;
}

size_t
ward__table_count(void)
{
    return count;
}

ward_child *
ward__table_find(pid_t pid)
{
    for (ward_child *c = buckets[bucket(pid, nbuckets)]; c != NULL; c = c->next) {
        if (c->ref.pid == pid)
            return c;
    }
    return NULL;
}

ward_child *
ward__table_find_live(pid_t pid)
{
    for (ward_child *c = buckets[bucket(pid, nbuckets)]; c != NULL; c = c->next) {
        if (c->ref.pid == pid &&
            !(c->ref.autoreap && ward__be->released != NULL && ward__be->released(&c->ref)))
            return c;
    }
    return NULL;
}

void
ward__table_each(void (*fn)(ward_child *c))
{
    for (size_t i = 0; i < nbuckets; i++) {
        ward_child *c = buckets[i], *next;

        /* next first: fn may take c out of the table, or free it. */
        for (; c != NULL; c = next) {
            next = c->next;
            fn(c);
        }
    }
}

void
ward__table_each_pid(pid_t pid, void (*fn)(ward_child *c))
{
    ward_child *c = buckets[bucket(pid, nbuckets)], *next;

    /* next first: fn may take c out of the table, or free it. */
    for (; c != NULL; c = next) {
        next = c->next;
        if (c->ref.pid == pid)
            fn(c);
    }
}

void
ward__table_clear(void)
{
    for (size_t i = 0; i < nbuckets; i++)
        buckets[i] = NULL;
    count = 0;
}
