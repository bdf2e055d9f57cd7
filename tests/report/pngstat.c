/*
 * pngstat.c - PNG facts for the report test, decoded with cairo.
 *
 *   asw-report-pngstat FILE...        one JSON object on stdout: per file
 *                                     its width, height, mean and standard
 *                                     deviation of the grey level and
 *                                     distinct colours; and for every probe
 *                                     "K X Y R" read from stdin the pixels
 *                                     of the square of radius R around
 *                                     pixel (X, Y) of the K-th file (from
 *                                     0) as [r, g, b] triples, in order
 *   asw-report-pngstat --crop X Y W H IN OUT
 *                                     write a crop of IN (to look at a part
 *                                     of a tall screenshot)
 *
 * Exit 0, or 1 when the file cannot be decoded.
 */
#include <cairo.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int crop(int argc, char **argv)
{
    if (argc != 8)
        return 2;
    int x = atoi(argv[2]), y = atoi(argv[3]), w = atoi(argv[4]),
        h = atoi(argv[5]);
    cairo_surface_t *in = cairo_image_surface_create_from_png(argv[6]);
    if (cairo_surface_status(in) != CAIRO_STATUS_SUCCESS)
        return 1;
    cairo_surface_t *out = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(out);
    cairo_set_source_surface(cr, in, -x, -y);
    cairo_paint(cr);
    int rc = cairo_surface_write_to_png(out, argv[7]) != CAIRO_STATUS_SUCCESS;
    cairo_destroy(cr);
    cairo_surface_destroy(out);
    cairo_surface_destroy(in);
    return rc;
}

/* Colour of pixel (x, y), alpha composited on white. */
static void rgb(const unsigned char *row, int x, int fmt, int out[3])
{
    uint32_t p = ((const uint32_t *)row)[x];
    int a = fmt == CAIRO_FORMAT_ARGB32 ? (int)(p >> 24) : 255;
    int c[3] = {(int)((p >> 16) & 255), (int)((p >> 8) & 255), (int)(p & 255)};
    for (int i = 0; i < 3; i++) /* premultiplied */
        out[i] = c[i] + (255 - a);
}

struct probe {
    int file, x, y, r;
};

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--crop") == 0)
        return crop(argc, argv);
    if (argc < 2) {
        fprintf(stderr, "usage: asw-report-pngstat FILE... < probes\n");
        return 2;
    }
    struct probe *pr = NULL;
    size_t np = 0, cap = 0;
    struct probe q;
    while (scanf("%d %d %d %d", &q.file, &q.x, &q.y, &q.r) == 4) {
        if (q.file < 0 || q.file >= argc - 1 || q.r < 0 || q.r > 64)
            return 2;
        if (np == cap) {
            cap = cap ? 2 * cap : 256;
            pr = realloc(pr, cap * sizeof *pr);
            if (!pr)
                return 1;
        }
        pr[np++] = q;
    }
    char **out = calloc(np + 1, sizeof *out);
    uint8_t *seen = calloc((size_t)1 << (24 - 3), 1);
    if (!out || !seen)
        return 1;
    printf("{\"files\": [");
    for (int fi = 1; fi < argc; fi++) {
        cairo_surface_t *s = cairo_image_surface_create_from_png(argv[fi]);
        if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
            fprintf(stderr, "%s: %s\n", argv[fi],
                    cairo_status_to_string(cairo_surface_status(s)));
            return 1;
        }
        cairo_surface_flush(s);
        int w = cairo_image_surface_get_width(s);
        int h = cairo_image_surface_get_height(s);
        int stride = cairo_image_surface_get_stride(s);
        int fmt = cairo_image_surface_get_format(s);
        const unsigned char *data = cairo_image_surface_get_data(s);
        double sum = 0, sum2 = 0;
        size_t distinct = 0;
        memset(seen, 0, (size_t)1 << (24 - 3));
        for (int y = 0; y < h; y++) {
            const unsigned char *row = data + (size_t)y * (size_t)stride;
            for (int x = 0; x < w; x++) {
                int c[3];
                rgb(row, x, fmt, c);
                double g = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
                sum += g;
                sum2 += g * g;
                uint32_t key = (uint32_t)(c[0] > 255 ? 255 : c[0]) << 16 |
                               (uint32_t)(c[1] > 255 ? 255 : c[1]) << 8 |
                               (uint32_t)(c[2] > 255 ? 255 : c[2]);
                if (!(seen[key >> 3] & (1u << (key & 7)))) {
                    seen[key >> 3] |= (uint8_t)(1u << (key & 7));
                    distinct++;
                }
            }
        }
        double n = (double)w * h;
        double mean = n > 0 ? sum / n : 0;
        double var = n > 0 ? sum2 / n - mean * mean : 0;
        printf("%s{\"width\": %d, \"height\": %d, \"mean\": %.3f, "
               "\"std\": %.3f, \"distinct\": %zu}",
               fi > 1 ? ", " : "", w, h, mean, sqrt(var > 0 ? var : 0),
               distinct);
        /* The pixels of this file's probes, kept for the output order. */
        for (size_t k = 0; k < np; k++) {
            if (pr[k].file != fi - 1)
                continue;
            size_t side = 2 * (size_t)pr[k].r + 1, len = 0;
            out[k] = malloc(side * side * 18 + 4);
            if (!out[k])
                return 1;
            len += (size_t)sprintf(out[k] + len, "[");
            int first = 1;
            for (int y = pr[k].y - pr[k].r; y <= pr[k].y + pr[k].r; y++)
                for (int x = pr[k].x - pr[k].r; x <= pr[k].x + pr[k].r; x++) {
                    if (x < 0 || y < 0 || x >= w || y >= h)
                        continue;
                    int c[3];
                    rgb(data + (size_t)y * (size_t)stride, x, fmt, c);
                    len += (size_t)sprintf(out[k] + len, "%s[%d,%d,%d]",
                                           first ? "" : ",", c[0], c[1], c[2]);
                    first = 0;
                }
            sprintf(out[k] + len, "]");
        }
        cairo_surface_destroy(s);
    }
    printf("], \"probes\": [");
    for (size_t k = 0; k < np; k++) {
        printf("%s%s", k ? ", " : "", out[k] ? out[k] : "[]");
        free(out[k]);
    }
    printf("]}\n");
    free(out);
    free(pr);
    free(seen);
    return 0;
}
