#include "gh_device.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int has(const char *ua, const char *token)
{
    return ua && strstr(ua, token) != NULL;
}

const char *gh_device_browser(const char *ua)
{
    /* Order matters: Edge and Opera also say Chrome, Chrome also says
     * Safari, and Chrome on iOS says CriOS. */
    if (has(ua, "Edg/") || has(ua, "EdgA/") || has(ua, "EdgiOS/"))
        return "Edge";
    if (has(ua, "OPR/"))
        return "Opera";
    if (has(ua, "SamsungBrowser/"))
        return "Samsung Internet";
    if (has(ua, "Firefox/") || has(ua, "FxiOS/"))
        return "Firefox";
    if (has(ua, "Chrome/") || has(ua, "CriOS/") || has(ua, "Chromium/"))
        return "Chrome";
    if (has(ua, "Safari/") && has(ua, "Version/"))
        return "Safari";
    return "an unknown browser";
}

const char *gh_device_os(const char *ua)
{
    if (has(ua, "Android"))
        return "Android";
    if (has(ua, "iPad"))
        return "iPadOS";
    if (has(ua, "iPhone") || has(ua, "iPod"))
        return "iOS";
    if (has(ua, "Windows"))
        return "Windows";
    if (has(ua, "CrOS"))
        return "ChromeOS";
    if (has(ua, "Macintosh") || has(ua, "Mac OS X"))
        return "macOS";
    if (has(ua, "Linux") || has(ua, "X11"))
        return "Linux";
    return "an unknown system";
}

void gh_device_network(const char *ip, char *out, size_t outlen)
{
    unsigned char a[16];
    char text[INET6_ADDRSTRLEN];
    if (ip && inet_pton(AF_INET, ip, a) == 1) {
        snprintf(out, outlen, "%u.%u.%u.0/24", a[0], a[1], a[2]);
        return;
    }
    if (ip && inet_pton(AF_INET6, ip, a) == 1) {
        memset(a + 6, 0, 10);
        if (inet_ntop(AF_INET6, a, text, sizeof(text))) {
            snprintf(out, outlen, "%s/48", text);
            return;
        }
    }
    snprintf(out, outlen, "an unknown network");
}
