/*
 * fuzz_url.c: libFuzzer target for the base_url rule
 * (suf_config_check_base_url).
 *
 * The input, up to its first NUL (a config value holds none), is a
 * base_url.  Whenever the check accepts it, the target parses it again as
 * the transport's libcurl will, with the flags a CURLOPT_URL gets, both as
 * it is and with the API path appended as suf builds the request URL, and
 * asserts the rule on what curl made of it:
 *  - no user name, password or login options;
 *  - scheme https, or http and a host that is this machine;
 *  - the path appended changes neither the scheme nor the host.
 * "This machine" is decided here in another way than the check does it
 * (getaddrinfo on the numeric host, no resolver), so a mistake in the
 * check's own loopback test shows.  A refusal must give a reason in suf's
 * error style: lowercase, no final full stop.  Any breach calls abort().
 */
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "base/config.h"
#include "base/util.h"
#include "base/banned.h"

static void fail(const char *what, const char *url)
{
    fprintf(stderr, "fuzz_url: %s: '%s'\n", what, url);
    abort();
}

/* A part of the parsed URL, or NULL.  The target has its own helpers and
 * shares no code with the check it judges. */
static char *part(CURLU *u, CURLUPart p)
{
    char *v = NULL;

    if (curl_url_get(u, p, &v, 0) != CURLUE_OK) {
        curl_free(v);
        return NULL;
    }
    return v;
}

/* True when `host` (as curl gives it: IPv6 in brackets) is a numeric
 * address of this machine, or the name curl answers itself, localhost. */
static int oracle_loopback(const char *host)
{
    struct addrinfo hints, *res = NULL;
    char bare[256];
    size_t n = strlen(host);
    int local = 0;

    if (!strcasecmp(host, "localhost"))
        return 1;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= sizeof(bare))
        return 0;
    memcpy(bare, host, n);
    bare[n] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(bare, NULL, &hints, &res))
        return 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *in =
                (const struct sockaddr_in *)(const void *)ai->ai_addr;
            local = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *in6 =
                (const struct sockaddr_in6 *)(const void *)ai->ai_addr;
            local = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
        }
        break;
    }
    freeaddrinfo(res);
    return local;
}

/* Parses `url` as CURLOPT_URL does and checks the rule; the scheme and host
 * go to *scheme and *host (curl_free) for the caller to compare. */
static void check_parsed(const char *url, const char *input, char **scheme, char **host)
{
    CURLU *u = curl_url();
    char *user, *password, *options;

    if (!u)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url,
                     CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME))
        fail("accepted, but curl cannot parse it", input);
    user = part(u, CURLUPART_USER);
    password = part(u, CURLUPART_PASSWORD);
    options = part(u, CURLUPART_OPTIONS);
    if (user || password || options)
        fail("accepted with user info", input);
    *scheme = part(u, CURLUPART_SCHEME);
    *host = part(u, CURLUPART_HOST);
    if (!*scheme || !*host)
        fail("accepted without a scheme or host", input);
    if (strcmp(*scheme, "https") && (strcmp(*scheme, "http") || !oracle_loopback(*host)))
        fail("accepted plain http to a host that is not this machine", input);
    curl_url_cleanup(u);
}

static void check_reason(const char *why, const char *input)
{
    size_t n;

    if (!why || !*why)
        fail("refused without a reason", input);
    n = strlen(why);
    if (!islower((unsigned char)why[0]) || why[n - 1] == '.')
        fail("reason not in suf's error style", input);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = suf_xstrndup((const char *)data, size);
    const char *why = NULL;
    char *request, *scheme, *host, *rscheme, *rhost;
    size_t len;

    if (suf_config_check_base_url(url, &why) != SUF_OK) {
        check_reason(why, url);
        free(url);
        return 0;
    }
    if (why)
        fail("accepted with a reason", url);
    /* As suf_cloudapi_url builds the request URL. */
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    request = suf_xasprintf("%.*s/v23.0/1234567890/messages", (int)len, url);
    check_parsed(url, url, &scheme, &host);
    check_parsed(request, url, &rscheme, &rhost);
    if (strcmp(scheme, rscheme) || strcmp(host, rhost))
        fail("the appended API path changes the scheme or host", url);
    curl_free(rhost);
    curl_free(rscheme);
    curl_free(host);
    curl_free(scheme);
    free(request);
    free(url);
    return 0;
}
