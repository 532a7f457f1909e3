/*
 * send_bare_loop.c: the baseline of bench-send: a bare libcurl multi loop
 * that posts the same request bodies to the same server as `suf send`,
 * with the same concurrency and options, and no bookkeeping at all.
 *
 * usage: send_bare_loop URL BODIES_FILE CONCURRENCY
 * Prints "<requests> <seconds>" and exits non-zero unless every reply was a
 * 200 carrying a message id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct xfer {
    CURL *easy;
    char reply[512];
    size_t len;
};

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;

    if (x->len + len < sizeof(x->reply)) {
        memcpy(x->reply + x->len, p, len);
        x->len += len;
        x->reply[x->len] = '\0';
    }
    return len;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char **read_lines(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    char **v = NULL, *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t len;

    *n = 0;
    if (!f)
        return NULL;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (*n == alloc) {
            alloc = alloc ? 2 * alloc : 1024;
            v = realloc(v, alloc * sizeof(*v));
        }
        v[(*n)++] = strdup(line);
    }
    free(line);
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    size_t nbodies, next = 0, done = 0, bad = 0;
    char **bodies;
    int conc, running;
    struct xfer *xs;
    struct curl_slist *h = NULL;
    CURLM *m;
    double t0;

    if (argc != 4)
        return 2;
    bodies = read_lines(argv[2], &nbodies);
    conc = atoi(argv[3]);
    if (!bodies || conc < 1)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conc);
    h = curl_slist_append(h, "Authorization: Bearer bench");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    xs = calloc((size_t)conc, sizeof(*xs));
    t0 = now_s();
    for (int i = 0; i < conc; i++) {
        CURL *e = curl_easy_init();
        xs[i].easy = e;
        curl_easy_setopt(e, CURLOPT_URL, argv[1]);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &xs[i]);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &xs[i]);
        if (next < nbodies) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, bodies[next++]);
            curl_multi_add_handle(m, e);
        }
    }
    while (done < nbodies) {
        CURLMsg *msg;
        int left;

        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left))) {
            struct xfer *x;
            long code = 0;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || code != 200 || !strstr(x->reply, "\"id\":\"wamid."))
                bad++;
            done++;
            curl_multi_remove_handle(m, x->easy);
            x->len = 0;
            x->reply[0] = '\0';
            if (next < nbodies) {
                curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, bodies[next++]);
                curl_multi_add_handle(m, x->easy);
            }
        }
        if (done < nbodies)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    printf("%zu %.4f\n", done, now_s() - t0);
    return bad ? 1 : 0;
}
