#include "gh_qr.h"

#include <qrencode.h>
#include <stdio.h>
#include <string.h>

#include "gh_buf.h"

enum {
    QUIET = 4, /* modules of white border the QR specification asks for */
    /* Version 40 (177 modules, 2331 bytes of text) draws to about 115 KB;
     * even a checkerboard (177 * 89 runs of under 24 bytes) fits. */
    SVG_MAX = 1 << 20,
};

static int put(gh_buf *b, const char *s)
{
    return gh_buf_append(b, s, strlen(s));
}

/* One black run of n modules at (x, y), as a closed 1-module-high box. */
static int put_run(gh_buf *b, int x, int y, int n)
{
    char seg[64];
    int len = snprintf(seg, sizeof(seg), "M%d %dh%dv1h-%dz", x + QUIET, y + QUIET, n, n);
    return gh_buf_append(b, seg, (size_t)len);
}

/* Horizontal runs of black modules, row by row: a few kilobytes of path
 * where one <rect> per module would be ten times more. */
static int put_modules(gh_buf *b, const QRcode *qr)
{
    for (int y = 0; y < qr->width; y++) {
        const unsigned char *row = qr->data + (size_t)y * (size_t)qr->width;
        for (int x = 0; x < qr->width;) {
            if (!(row[x] & 1)) { /* bit 0 is black; the others are metadata */
                x++;
                continue;
            }
            int start = x;
            while (x < qr->width && (row[x] & 1))
                x++;
            if (put_run(b, start, y, x - start) != GH_BUF_OK)
                return -1;
        }
    }
    return 0;
}

char *gh_qr_svg(gh_arena *a, const char *text)
{
    gh_buf b;
    char head[256];
    char *svg = NULL;
    gh_buf_init(&b, SVG_MAX);
    if (!text)
        return NULL;
    /* NULL with errno ERANGE when text does not fit version 40 */
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return NULL;
    int side = qr->width + 2 * QUIET;
    /* crispEdges: no anti-aliased seams between neighbouring runs */
    snprintf(head, sizeof(head),
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
             "<path fill=\"#000\" d=\"",
             side, side, side, side);
    if (put(&b, head) != GH_BUF_OK || put_modules(&b, qr) != 0 ||
        put(&b, "\"/></svg>") != GH_BUF_OK)
        goto out;
    svg = gh_arena_strndup(a, b.data, b.len);
out:
    QRcode_free(qr);
    gh_buf_free(&b);
    return svg;
}
