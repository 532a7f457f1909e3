/*
 * banned.h: functions suf must not call.
 *
 * Each of these has a safer replacement: snprintf for sprintf, a bounded
 * copy for strcpy/strcat, strtok_r or explicit scanning for strtok, strtol
 * with end checks for atoi, and the _r variants of the time functions.
 * Including this header (util.h does) turns a call into a compile error.
 */
#ifndef SUF_BANNED_H
#define SUF_BANNED_H

#define SUF_BANNED(func) sorry_##func##_is_banned_in_suf

#undef strcpy
#define strcpy(a, b) SUF_BANNED(strcpy)
#undef strcat
#define strcat(a, b) SUF_BANNED(strcat)
#undef strncpy
#define strncpy(a, b, c) SUF_BANNED(strncpy)
#undef sprintf
#define sprintf(...) SUF_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) SUF_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) SUF_BANNED(strtok)
#undef atoi
#define atoi(a) SUF_BANNED(atoi)
#undef atol
#define atol(a) SUF_BANNED(atol)
#undef gmtime
#define gmtime(t) SUF_BANNED(gmtime)
#undef localtime
#define localtime(t) SUF_BANNED(localtime)
#undef ctime
#define ctime(t) SUF_BANNED(ctime)
#undef asctime
#define asctime(t) SUF_BANNED(asctime)
#undef gets
#define gets(a) SUF_BANNED(gets)

#endif /* SUF_BANNED_H */
