/*
 * fuzz_votable.c - libFuzzer harness for io/votable.
 *
 * Each input is a document. A hash of the input picks the chunk sizes and,
 * for one input in four, small caps, so that splits and cap paths are
 * explored while every input stays reproducible. The document goes
 * through the push parser (callbacks touch every cell) and through the
 * collector, whose table is written as JSON and CSV to /dev/null.
 *
 * Build and run (from the repository root; clang only):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. \
 *       tests/fuzz/fuzz_votable.c io/votable.c src/err.c src/buf.c \
 *       -lexpat -lm -o build-fuzz/fuzz_votable
 *   mkdir -p build-fuzz/corpus && cp ../shared/fixtures/alma-archive/[an]*.xml
 * \ tests/fixtures/votable/[a-z]*.xml build-fuzz/corpus/
 *   build-fuzz/fuzz_votable -dict=tests/fuzz/votable.dict \
 *       -max_total_time=180 -timeout=10 build-fuzz/corpus
 * or configure CMake with CC=clang -DASW_FUZZ=ON (tests/fuzz/CMakeLists.txt).
 */
#include "io/votable.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct sink {
    size_t bytes, rows, fields;
};

static int f_fields(void *ud, const struct asw_vot_field *f, size_t n,
                    struct asw_err *err)
{
    struct sink *s = ud;
    for (size_t i = 0; i < n; i++)
        s->bytes += strlen(f[i].name) + strlen(f[i].datatype);
    s->fields = n;
    return 0;
}

static int f_row(void *ud, size_t row, const char *const *cells, size_t n,
                 struct asw_err *err)
{
    struct sink *s = ud;
    if (n != s->fields)
        __builtin_trap(); /* a row must have exactly one cell per FIELD */
    for (size_t i = 0; i < n; i++)
        if (cells[i])
            s->bytes += strlen(cells[i]);
    s->rows++;
    return 0;
}

static int f_info(void *ud, const struct asw_vot_resource_info *res,
                  const char *name, const char *value, const char *text,
                  struct asw_err *err)
{
    struct sink *s = ud;
    s->bytes += (name ? strlen(name) : 0) + (value ? strlen(value) : 0) +
                (text ? strlen(text) : 0) + (res && res->id ? 1 : 0);
    return 0;
}

static int f_param(void *ud, const struct asw_vot_resource_info *res,
                   const char *group, const char *name, const char *value,
                   struct asw_err *err)
{
    struct sink *s = ud;
    s->bytes += (group ? strlen(group) : 0) + (name ? strlen(name) : 0) +
                (value ? strlen(value) : 0);
    return 0;
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Feed data in pseudo-random chunks of 1..max bytes. */
static int feed_all(int (*feed)(void *, const char *, size_t, struct asw_err *),
                    void *h, const uint8_t *data, size_t size, uint64_t seed,
                    size_t max)
{
    struct asw_err err = {0};
    uint64_t x = seed | 1;
    for (size_t o = 0; o < size;) {
        size_t n = 1 + (size_t)(next(&x) % max);
        if (n > size - o)
            n = size - o;
        int rc = feed(h, (const char *)data + o, n, &err);
        if (rc)
            return rc;
        o += n;
    }
    return 0;
}

static int feed_parser(void *h, const char *d, size_t n, struct asw_err *e)
{
    return asw_vot_parser_feed(h, d, n, e);
}

static int feed_collector(void *h, const char *d, size_t n, struct asw_err *e)
{
    return asw_vot_collector_feed(h, d, n, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null_out;
    if (!null_out)
        null_out = fopen("/dev/null", "w");

    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ULL;
    size_t max_chunk = (h >> 8) % 4 == 0 ? 1 : 1 + (size_t)((h >> 16) % 4096);

    struct asw_vot_limits small = {.max_cell_bytes = 64,
                                   .max_row_bytes = 256,
                                   .max_fields = 8,
                                   .max_rows = 16,
                                   .max_token_bytes = 512,
                                   .max_total_bytes = 4096};
    const struct asw_vot_limits *lim = (h & 3) == 0 ? &small : NULL;

    struct sink s = {0};
    struct asw_vot_callbacks cb = {f_fields, f_row, f_info, f_param, NULL};
    struct asw_vot_parser *p = asw_vot_parser_new(&cb, &s, lim);
    if (p) {
        struct asw_err err = {0};
        if (!feed_all(feed_parser, p, data, size, h, max_chunk))
            asw_vot_parser_finish(p, &err);
        asw_vot_parser_free(p);
    }

    struct asw_vot_collector *c = asw_vot_collector_new(lim);
    if (c) {
        struct asw_err err = {0};
        struct asw_vot_table *t = NULL;
        if (!feed_all(feed_collector, c, data, size, h >> 1, max_chunk) &&
            !asw_vot_collector_finish(c, &t, &err)) {
            asw_vot_write_json(t, null_out, &err);
            asw_vot_write_csv(t, null_out, &err);
            for (size_t r = 0; r < t->nrows; r++)
                for (size_t k = 0; k < t->nfields; k++)
                    (void)asw_vot_cell(t, r, k);
            (void)asw_vot_info(t, "QUERY_STATUS");
            for (size_t i = 0; i < t->nresources; i++)
                if (t->resources[i].id)
                    (void)asw_vot_resource_by_id(t, t->resources[i].id);
            asw_vot_table_free(t);
        }
        asw_vot_collector_free(c);
    }
    return 0;
}
