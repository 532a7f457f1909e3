/*
 * receive.h: `suf receive`, Meta's webhook callback.
 *
 * The receiver is three parts, each usable and testable on its own:
 *
 *  - the checks (receive_check.c): pure functions with no I/O that decide
 *    what a request deserves: the verification handshake, the
 *    X-Hub-Signature-256 check, the body-size limit, the body's shape, and
 *    whether a body holds a consent (a button tap or an interactive reply).
 *    The HTTP layer, the unit tests and the fuzzer all call these same
 *    functions.
 *  - the inbox (receive_inbox.c): a durable appender.  A caller hands it
 *    a batch of whole lines and is told SUF_OK only once they are on disk
 *    (written, then fdatasync).  The batch is the group commit: the HTTP
 *    workers gather the lines of many requests and flush them at once,
 *    each into its own lane (its own file).  Files rotate by size and
 *    age, are named so that their names sort in the order they were
 *    created, are opened O_APPEND and are never rewritten.  When the disk
 *    cannot take a batch (full, failing), the lane keeps its file, refuses
 *    batches at once for a retry interval and then tries again, and the
 *    trouble is logged once per log interval, not once per batch.
 *  - the consent runner (receive_consent.c): starts the --on-consent
 *    command, detached, debounced, one at a time.
 *
 * receive_http.c ties them to libmicrohttpd, and cmd_receive.c to the
 * command line.
 *
 * Invariants:
 *  - a body is appended only after its signature matched; nothing is
 *    written for a request refused for what it is (4xx);
 *  - a 200 is answered only after the body's line was flushed, and its
 *    file's name too; a body that could not be stored is answered 503
 *    with Retry-After, so the sender sends it again;
 *  - a refusal's answer is a short fixed reason ("bad signature"), never
 *    bytes of the request;
 *  - every line in the inbox is one whole webhook body followed by "\n";
 *  - secrets (the verify token and the app secret) are only compared, never
 *    copied into logs or errors.
 */
#ifndef SUF_RECEIVE_H
#define SUF_RECEIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/status.h"
#include "base/util.h"

#define SUF_RECEIVE_SIG_HEADER "X-Hub-Signature-256"
#define SUF_RECEIVE_SIG_PREFIX "sha256="
#define SUF_RECEIVE_CHALLENGE_MAX 256

/* ---- The checks (pure) ---- */

/*
 * True when `header` is "sha256=" followed by the 64 hex digits (either
 * case) of HMAC-SHA256(body, secret).  NULL, a wrong prefix or length, or a
 * non-hex digit is false.  The digest comparison is constant-time
 * (CRYPTO_memcmp).
 */
bool suf_receive_signature_ok(const char *header, const void *body, size_t len,
                              const char *secret, size_t secret_len);

/*
 * An HMAC-SHA256 key prepared once (algorithm fetched, pads hashed), for
 * the request path: suf_receive_signature_ok_mac and suf_receive_post_mac.
 * The forms that take the secret prepare a key for their one call, so both
 * share one HMAC and give the same answers.  Not thread-safe: one
 * per thread.  suf_receive_mac_new returns NULL when libcrypto fails;
 * suf_receive_mac_free cleanses the key and accepts NULL.
 */
struct suf_receive_mac;
struct suf_receive_mac *suf_receive_mac_new(const char *secret, size_t secret_len);
void suf_receive_mac_free(struct suf_receive_mac *m);
bool suf_receive_signature_ok_mac(const char *header, const void *body, size_t len,
                                  struct suf_receive_mac *m);

/* Writes "sha256=<hex>" for `body` into out (at least 72 bytes): what Meta
 * would send, for tests, the fuzzer and the benchmark. */
void suf_receive_sign(const void *body, size_t len, const char *secret, size_t secret_len,
                      char *out, size_t size);

/* Equality of two secrets in time that depends on neither's content nor
 * on the length of `expected` (both are hashed, then compared with
 * CRYPTO_memcmp).  NULL is equal to nothing. */
bool suf_receive_token_equal(const char *given, const char *expected);

/*
 * Meta's verification handshake: returns 200 when mode is "subscribe",
 * token equals `expected` and challenge is 1..SUF_RECEIVE_CHALLENGE_MAX
 * characters of [A-Za-z0-9._~-] (the body to echo is then `challenge`);
 * anything else returns 403.  Any argument may be NULL (absent).
 */
int suf_receive_handshake(const char *mode, const char *token, const char *challenge,
                          const char *expected);

/*
 * Checks a Content-Length header against the body cap before any byte of
 * the body is read: returns 0 when it is absent (chunked) or within `cap`,
 * 413 when it exceeds it, 400 when it is not a decimal number.
 */
int suf_receive_content_length(const char *value, int64_t cap);

/*
 * Checks how a POST says its body is framed, before any byte of it is
 * read: suf_receive_content_length's answer when there is a
 * Content-Length; 0 for a body sent with a Transfer-Encoding (chunked,
 * counted against the cap as it comes); 411 when there is neither (no
 * body can follow).  On a refusal *why (when `why` is not NULL) gets its
 * static reason: "body too large", "bad content-length" or "missing
 * content-length"; on 0 it gets NULL.
 */
int suf_receive_framing(const char *content_length, const char *transfer_encoding,
                        int64_t cap, const char **why);

/* What suf_receive_post found in an accepted body. */
struct suf_receive_body {
    bool consent;    /* holds a template button tap or an interactive reply */
    const char *why; /* static reason for a 4xx, NULL on 200 */
};

/*
 * Decides a POST whose whole body is in hand: 413 when len > cap ("body
 * too large"), 401 when the signature header is absent ("missing
 * signature") or does not match ("bad signature"), 400 when the body is
 * not a JSON object ("body is not a JSON object"), else 200.  The reason
 * in quotes is out->why, a static string that the HTTP layer also sends
 * as the answer's body.  On 200 `line` (reset first) holds the line to
 * append: the body with each raw CR or LF replaced by a space, then "\n".
 * In valid JSON a raw CR or LF can only be white space between tokens
 * (jansson refuses control characters inside strings), so the line is the
 * same JSON, byte for byte everywhere else.  `out` may be NULL.
 */
int suf_receive_post(const char *sig_header, const char *body, size_t len, int64_t cap,
                     const char *secret, size_t secret_len, struct suf_buf *line,
                     struct suf_receive_body *out);

/* suf_receive_post with a prepared key (with a NULL key no signature
 * matches: 401). */
int suf_receive_post_mac(const char *sig_header, const char *body, size_t len, int64_t cap,
                         struct suf_receive_mac *m, struct suf_buf *line,
                         struct suf_receive_body *out);

/*
 * True when the webhook body `text` (of `len` bytes) is a JSON object with
 * an entry[].changes[].value.messages[] element of type "button" (a
 * quick-reply tap on a template) or of type "interactive" with a
 * button_reply or list_reply.
 */
bool suf_receive_is_consent(const char *text, size_t len);

/*
 * Parses "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0") with
 * numeric addresses only.  Fills *sa and *salen.  A bad value is
 * SUF_ERR_USAGE naming it.
 */
int suf_receive_parse_listen(const char *spec, struct sockaddr_storage *sa,
                             socklen_t *salen, struct suf_err *err);

/* ---- The inbox (durable appender) ---- */

/* Seconds since the epoch: the receiver passes the run's clock. */
typedef int64_t (*suf_receive_clock_fn)(void *ctx);

/* The defaults of suf_inbox_opts.retry_seconds and log_seconds. */
#define SUF_INBOX_RETRY_SECONDS 10
#define SUF_INBOX_LOG_SECONDS 60

/*
 * The system calls the inbox makes on its files once they are open: a seam
 * for the tests, which cannot fill a disk or fail a flush at will.  Each
 * behaves as the call it is named for (-1 with errno set on failure) and
 * gets `ctx` first.  A NULL member is the real call.
 */
struct suf_inbox_io {
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
    int (*datasync)(void *ctx, int fd);   /* fdatasync of a file */
    int (*dirsync)(void *ctx, int dirfd); /* fsync of the folder */
    int (*truncate)(void *ctx, int fd, off_t len);
    void *ctx;
};

struct suf_inbox_opts {
    const char *dir;          /* the folder; created (0750) when missing */
    int64_t rotate_bytes;     /* start a new file before one would pass this */
    int64_t rotate_seconds;   /* start a new file once one is this old */
    suf_receive_clock_fn now; /* names files, ages them, times the retries */
    void *now_ctx;
    int lanes; /* lanes side by side, each with its own file (1..16) */
    /* After a batch failed, its lane refuses batches at once (no disk
     * access) for this long, then tries again (0: SUF_INBOX_RETRY_SECONDS).
     * The receiver sends it as Retry-After. */
    int64_t retry_seconds;
    /* While batches fail: one log line per this long at most
     * (0: SUF_INBOX_LOG_SECONDS). */
    int64_t log_seconds;
    const struct suf_inbox_io *io; /* borrowed; NULL: the real calls */
};

struct suf_inbox;

/*
 * Writes the name of the events file opened at `t` with sequence `seq`
 * into buf: "events-20261124T020000Z-000001.jsonl".  Names sort in the
 * order files were opened (the sequence breaks ties within a second).
 */
void suf_inbox_file_name(int64_t t, unsigned seq, char *buf, size_t size);

/* Checks the folder (creating it).  *out is freed with suf_inbox_close.
 * No file is created until the first line. */
int suf_inbox_open(struct suf_inbox **out, const struct suf_inbox_opts *o,
                   struct suf_err *err);

/*
 * Writes `len` bytes (`lines` whole lines; the caller includes each "\n")
 * to lane `lane` (taken modulo the number of lanes) and flushes them, on
 * the calling thread; returns SUF_OK once they are on disk, with the
 * file's name.  Anything else is SUF_ERR_IO, and the caller must not
 * acknowledge the lines:
 *  - a failed write (a full disk): the lane keeps its file, and cuts off
 *    the incomplete line the write left at its end, so the next batch
 *    starts a line of its own in the same file (whole lines the failed
 *    write left stay: import deduplicates them with the sender's retry);
 *    a file that may not grow (EFBIG) is left for a new one;
 *  - a failed flush of the file: the lane keeps the file, and its next
 *    batch starts with an empty line, so that a tail the disk lost can
 *    never run into an acknowledged line;
 *  - a failed flush of the folder after creating a file: the lane keeps
 *    the empty file and flushes the folder again before its next write;
 *  - and in each case the lane then refuses batches at once, without
 *    touching the disk, until retry_seconds have passed.
 * So a disk that stays full gets no new file per batch.  Thread-safe
 * (callers of one lane take turns).
 */
int suf_inbox_write(struct suf_inbox *ib, unsigned lane, const char *data, size_t len,
                    uint64_t lines);

/* One line, on the next lane in turn: suf_inbox_write's status. */
int suf_inbox_append(struct suf_inbox *ib, const char *data, size_t len);

/* The number of lanes. */
unsigned suf_inbox_lanes(struct suf_inbox *ib);

/* How long a lane waits after a failure before it tries again (seconds):
 * what the receiver answers in Retry-After. */
int64_t suf_inbox_retry_seconds(struct suf_inbox *ib);

/* Counters, for the shutdown summary and the tests. */
struct suf_inbox_stats {
    uint64_t lines;   /* appended and flushed */
    uint64_t flushes; /* fdatasync calls */
    uint64_t files;   /* files created */
    uint64_t errors;  /* failed batches, tried or refused at once */
    uint64_t refused; /* lines of those batches */
};
void suf_inbox_stats(struct suf_inbox *ib, struct suf_inbox_stats *st);

/* Closes the files and frees ib.  Accepts NULL.  Callers must not write
 * concurrently with this. */
void suf_inbox_close(struct suf_inbox *ib);

/* ---- The consent runner ---- */

struct suf_consent;

/*
 * Starts the runner thread for `cmd` (run with /bin/sh -c).  A tap
 * (suf_consent_tap) starts the command `debounce_ms` after the first tap
 * of a burst, in its own session, with stdin from /dev/null and without
 * the receiver's secrets in its environment.  While it runs, further taps
 * only mark that it must run once more after it ends.
 */
int suf_consent_start(struct suf_consent **out, const char *cmd, int64_t debounce_ms,
                      struct suf_err *err);
/* Records a consent; never blocks on the command. Accepts NULL. */
void suf_consent_tap(struct suf_consent *c);
/* How many times the command was started. */
uint64_t suf_consent_runs(struct suf_consent *c);
/* Stops the thread.  A pending tap with no command running starts the
 * command at once; a running command is left to finish on its own.
 * Accepts NULL. */
void suf_consent_stop(struct suf_consent *c);

/* ---- The HTTP server ---- */

struct MHD_Daemon;

/*
 * One pass of a worker's daemon: MHD_run_wait(daemon, ms) by default.  A
 * seam for the tests, which cannot make libmicrohttpd fail at will; true
 * when the pass worked.
 */
typedef bool (*suf_receive_pass_fn)(struct MHD_Daemon *daemon, int32_t ms, void *ctx);

/*
 * How long a worker pauses after its `failures`-th failed pass in a row:
 * 0 for none, then SUF_RECEIVE_BACKOFF_MIN_MS doubling up to
 * SUF_RECEIVE_BACKOFF_MAX_MS, so a pass that keeps failing neither spins
 * nor leaves the receiver deaf for long once it works again.
 */
#define SUF_RECEIVE_BACKOFF_MIN_MS 10
#define SUF_RECEIVE_BACKOFF_MAX_MS 1000
int64_t suf_receive_backoff_ms(unsigned failures);

struct suf_receive_opts {
    const char *listen;       /* ADDR:PORT */
    const char *verify_token; /* borrowed; outlives the server */
    const char *app_secret;   /* borrowed; outlives the server */
    int64_t max_body_bytes;
    int64_t max_connections;  /* in all, shared out among the workers */
    int64_t connection_timeout_s;
    struct suf_inbox *inbox;     /* borrowed; one worker per lane, worker i
                                  * writing lane i */
    struct suf_consent *consent; /* borrowed; NULL without --on-consent */
    suf_receive_pass_fn pass;    /* NULL: MHD_run_wait */
    void *pass_ctx;
};

/* The number of lanes cmd_receive opens the inbox with, hence of the
 * receiver's workers (one per lane): the number of CPUs, at least 2 (so
 * one worker's flush overlaps the other's work) and at most 4. */
int suf_receive_default_workers(void);

struct suf_receiver;

/* Binds and starts serving (worker threads of its own).  *out is freed
 * with suf_receive_stop. */
int suf_receive_start(struct suf_receiver **out, const struct suf_receive_opts *o,
                      struct suf_err *err);
/* The port actually bound (useful with port 0). */
unsigned suf_receive_port(struct suf_receiver *r);
/* Stops accepting, lets requests in flight finish (their lines are
 * flushed and answered), stops the workers and frees r.  Accepts NULL. */
void suf_receive_stop(struct suf_receiver *r);

#endif /* SUF_RECEIVE_H */
