/*
 * gh_qr: QR codes (libqrencode) drawn as SVG for the authenticator-app
 * set-up page. SVG keeps the picture sharp at any size, needs no image
 * library and can be sent inside a JSON answer and shown as an <img> data:
 * URL under the pages' Content-Security-Policy (img-src 'self' data:).
 */
#ifndef GH_QR_H
#define GH_QR_H

#include "gh_arena.h"

/* An SVG document (black modules on white, 4-module quiet zone, error
 * correction level M) encoding text; NULL when text is too long or on no
 * memory. */
char *gh_qr_svg(gh_arena *a, const char *text);

#endif
