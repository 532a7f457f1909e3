/*
 * cloudapi.c: the Cloud API's messages endpoint as data (see cloudapi.h).
 *
 * Nothing here touches the network, the database or the clock: the send
 * loop hands in what the transport saw and gets back a verdict and a delay.
 * Keeping the retry decision in one pure function means one table-driven
 * test covers every way a send can end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/log.h"
#include "base/util.h"
#include "send/cloudapi.h"
#include "base/banned.h"

char *suf_cloudapi_url(const struct suf_config *cfg)
{
    const char *base = cfg->base_url ? cfg->base_url : "";
    size_t len = strlen(base);

    while (len > 0 && base[len - 1] == '/')
        len--;
    return suf_xasprintf("%.*s/%s/%s/messages", (int)len, base,
                         cfg->api_version ? cfg->api_version : "",
                         cfg->phone_number_id ? cfg->phone_number_id : "");
}

/*
 * Sets api_error to outside text, every secret suf knows redacted first
 * (a Graph API token error, code 190, may quote the token): redacting
 * before the text is cut to size means no head of a secret survives the cut.
 */
static void set_error(struct suf_api_result *r, const char *text)
{
    char *clean = suf_redact_dup(text);

    suf_strlcpy(r->api_error, clean, sizeof(r->api_error));
    free(clean);
}

/* An error code Graph gives as a number or as a string of digits; 0 when
 * it is neither. */
static long code_of(const json_t *code)
{
    int64_t v;

    if (json_is_integer(code))
        return (long)json_integer_value(code);
    if (json_is_string(code) && !suf_parse_i64(json_string_value(code), &v))
        return (long)v;
    return 0;
}

static void parse_error(struct suf_api_result *r, json_t *error)
{
    char *text;
    const char *msg = json_string_value(json_object_get(error, "message"));
    const char *details =
        json_string_value(json_object_get(json_object_get(error, "error_data"), "details"));

    r->api_code = code_of(json_object_get(error, "code"));
    r->api_subcode = code_of(json_object_get(error, "error_subcode"));
    r->transient = json_is_true(json_object_get(error, "is_transient"));
    if (!details || !*details) /* Graph's words for a person, when no details */
        details = json_string_value(json_object_get(error, "error_user_msg"));
    if (msg && details && *details)
        text = suf_xasprintf("%s (%s)", msg, details);
    else if (msg || details)
        text = suf_xstrdup(msg ? msg : details);
    else
        text = suf_xasprintf("API error %ld", r->api_code);
    set_error(r, text);
    free(text);
}

/* Past the literal `lit` at p, or NULL. */
static const char *skip_lit(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);

    return p && (size_t)(end - p) >= n && !memcmp(p, lit, n) ? p + n : NULL;
}

/* Past a run of one or more plain characters at p (printable ASCII but for
 * the quote and the backslash: a JSON string's own bytes), or NULL. */
static const char *skip_plain(const char *p, const char *end)
{
    const char *q = p;

    while (q && q < end && *q >= 0x20 && *q <= 0x7e && *q != '"' && *q != '\\')
        q++;
    return q && q > p ? q : NULL;
}

bool suf_cloudapi_accepted(const char *body, size_t len, char *wamid, size_t size)
{
    const char *end, *id, *id_end, *p, *status;

    if (!body)
        return false;
    end = body + len;
    p = skip_lit(body, end, "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"");
    p = skip_lit(skip_plain(p, end), end, "\",\"wa_id\":\"");
    id = skip_lit(skip_plain(p, end), end, "\"}],\"messages\":[{\"id\":\"");
    id_end = skip_plain(id, end);
    p = skip_lit(id_end, end, "\"");
    if ((status = skip_lit(p, end, ",\"message_status\":\"")))
        p = skip_lit(skip_plain(status, end), end, "\"");
    if (skip_lit(p, end, "}]}") != end || (size_t)(id_end - id) >= size)
        return false;
    memcpy(wamid, id, (size_t)(id_end - id));
    wamid[id_end - id] = '\0';
    return true;
}

/* The parse of both kinds of call: `graph` expects no wamid. */
static void parse(struct suf_api_result *r, enum suf_net_outcome net, int http_status,
                  const char *body, size_t len, bool graph)
{
    json_t *root, *error, *id;
    json_error_t jerr;

    r->net = net;
    r->http_status = http_status;
    r->wamid[0] = '\0';
    r->api_code = r->api_subcode = 0;
    r->transient = false;
    if (net != SUF_NET_OK) { /* api_error already holds the transport's words */
        suf_redact(r->api_error, sizeof(r->api_error));
        return;
    }
    r->api_error[0] = '\0';
    if (!graph && suf_cloudapi_accepted(body, len, r->wamid, sizeof(r->wamid))) {
        suf_redact(r->wamid, sizeof(r->wamid)); /* stored, like the error text */
        return;
    }
    root = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(root)) {
        snprintf(r->api_error, sizeof(r->api_error), "HTTP %d with %s", http_status,
                 body && len ? "a reply that is not a JSON object" : "an empty reply");
        json_decref(root);
        return;
    }
    error = json_object_get(root, "error");
    if (json_is_object(error))
        parse_error(r, error);
    id = json_object_get(json_array_get(json_object_get(root, "messages"), 0), "id");
    if (json_is_string(id) && json_string_length(id) > 0 &&
        json_string_length(id) < sizeof(r->wamid))
        suf_strlcpy(r->wamid, json_string_value(id), sizeof(r->wamid));
    else if (!r->api_error[0] && !graph)
        snprintf(r->api_error, sizeof(r->api_error), "HTTP %d without a message id",
                 http_status);
    suf_redact(r->wamid, sizeof(r->wamid)); /* stored, like the error text */
    json_decref(root);
}

void suf_cloudapi_parse(struct suf_api_result *r, enum suf_net_outcome net, int http_status,
                        const char *body, size_t len)
{
    parse(r, net, http_status, body, len, false);
}

void suf_cloudapi_parse_graph(struct suf_api_result *r, enum suf_net_outcome net,
                              int http_status, const char *body, size_t len)
{
    parse(r, net, http_status, body, len, true);
}

void suf_cloudapi_redirect(struct suf_api_result *r, const char *location)
{
    char *text;

    if (r->net != SUF_NET_OK || r->http_status < 300 || r->http_status > 399)
        return;
    if (location && *location)
        text = suf_xasprintf("HTTP %d: a redirect to '%s', which suf never follows",
                             r->http_status, location);
    else
        text =
            suf_xasprintf("HTTP %d: a redirect, which suf never follows", r->http_status);
    set_error(r, text);
    free(text);
}

bool suf_cloudapi_code_retryable(long code)
{
    static const long transient[] = {130429, 131056, 131000, 131016};

    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (code == transient[i])
            return true;
    return false;
}

bool suf_cloudapi_code_token(long code)
{
    return code == 190;
}

/* The ordered decision of both kinds of call; a Graph call (`graph`) is
 * accepted without a wamid when its reply is a JSON object (parse left
 * api_error empty), and believes error.is_transient. */
static enum suf_api_verdict classify(const struct suf_api_result *r, bool graph)
{
    bool ok2xx = r->http_status >= 200 && r->http_status < 300;

    if (r->net != SUF_NET_OK)
        return SUF_API_RETRY;
    if (ok2xx && (graph ? !r->api_error[0] : r->wamid[0] != '\0') && !r->api_code)
        return SUF_API_SENT;
    if (r->api_code && (suf_cloudapi_code_retryable(r->api_code) || (graph && r->transient)))
        return SUF_API_RETRY;
    /* A server that says "later" by its status is believed whatever code
     * it adds (a 429 may carry Graph's generic rate-limit code 4 or 80007). */
    if (r->http_status == 429 || r->http_status >= 500)
        return SUF_API_RETRY;
    if (r->api_code)
        return SUF_API_PERMANENT;
    return ok2xx ? SUF_API_RETRY : SUF_API_PERMANENT;
}

enum suf_api_verdict suf_cloudapi_classify(const struct suf_api_result *r)
{
    return classify(r, false);
}

enum suf_api_verdict suf_cloudapi_classify_graph(const struct suf_api_result *r)
{
    return classify(r, true);
}

int64_t suf_cloudapi_retry_after(const char *value, int64_t now)
{
    char buf[128];
    int64_t secs;
    time_t when;

    if (!value)
        return -1;
    suf_strlcpy(buf, value, sizeof(buf));
    suf_trim(buf);
    if (!buf[0])
        return -1;
    if (buf[0] >= '0' && buf[0] <= '9') {
        if (suf_parse_i64(buf, &secs) || secs < 0 || secs > INT64_C(86400) * 365)
            return -1;
        return secs * 1000;
    }
    when = curl_getdate(buf, NULL); /* HTTP-date; libcurl parses all three forms */
    if (when == (time_t)-1)
        return -1;
    return (int64_t)when > now ? ((int64_t)when - now) * 1000 : 0;
}

int64_t suf_cloudapi_backoff_ms(int tries, int64_t base_ms, int64_t max_ms,
                                int64_t retry_after_ms, suf_jitter_fn jitter, void *ctx)
{
    int64_t d = base_ms > 0 ? base_ms : 1;
    int64_t half;

    if (max_ms < d)
        max_ms = d;
    for (int i = 1; i < tries && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    half = d / 2;
    d = half + (jitter ? (int64_t)(jitter(ctx) % (uint64_t)(d - half + 1)) : d - half);
    if (retry_after_ms >= 0 && d < retry_after_ms)
        d = retry_after_ms;
    return d;
}
