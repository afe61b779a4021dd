/*
 * A ChatOn /chats/stream answer as the backend might send it, shared by the
 * SSE parser and chunk translator tests: pings, analytics, an operation
 * notice, web sources, reasoning and content deltas (multi-byte UTF-8:
 * é, 中文, a 4-byte emoji; \u escapes with a surrogate pair and \u2028; a
 * raw U+2028), CRLF, LF and lone-CR line ends, a comment, "event:", "id:"
 * and "retry:" lines, "data:" without its space, a two-line data event, a
 * backend finish_reason and [DONE].
 */

#ifndef UNIT_STREAM_H
#define UNIT_STREAM_H


#include "unit.h"


#define EMOJI     "\xf0\x9f\x98\x80"                 /* U+1F600 */
#define E_ACUTE   "\xc3\xa9"                         /* é */
#define ZHONGWEN  "\xe4\xb8\xad\xe6\x96\x87"         /* 中文 */
#define LS        "\xe2\x80\xa8"                     /* U+2028, raw */


/* the payloads (what the events must carry) */

#define P_PING       "{\"ping\":{\"t\":1732487485}}"
#define P_ANALYTICS  "{\"data\":{\"analytics\":{\"event\":\"chat_started\","  \
                     "\"props\":{\"model\":\"gpt-4o\"}}}}"
#define P_OPERATION  "{\"data\":{\"operation\":\"web_search\",\"message\":"   \
                     "\"Searching the web...\"}}"
#define P_SOURCES    "{\"data\":{\"web\":{\"sources\":[{\"title\":"          \
                     "\"Caf\\u00e9 [guide]\",\"url\":"                       \
                     "\"https://example.com/caf\\u00e9?a=1&b=(2)\"},"        \
                     "{\"title\":\"\",\"url\":\"https://example.org/x y\"}]}}}"
#define P_REASONING  "{\"id\":\"chatcmpl-AbC\",\"choices\":[{\"index\":0,"   \
                     "\"delta\":{\"content\":null,\"reasoning_content\":"    \
                     "\"Let me think\\u2026\"},\"finish_reason\":null}]}"
#define P_CONTENT1   "{\"id\":\"chatcmpl-AbC\",\"object\":"                  \
                     "\"chat.completion.chunk\",\"created\":1732487486,"     \
                     "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{"        \
                     "\"index\":0,\"delta\":{\"role\":\"assistant\","        \
                     "\"content\":\"Caf" E_ACUTE " " ZHONGWEN " " EMOJI      \
                     "\"},\"finish_reason\":null}]}"
#define P_CONTENT2   "{\"id\":\"chatcmpl-AbC\",\"choices\":[{\"index\":0,"   \
                     "\"delta\":{\"content\":\" \\ud83d\\ude00 \\u2028 "     \
                     "\\\"quoted\\\" back\\\\slash\\nnew line\"},"           \
                     "\"finish_reason\":null}]}"
#define P_MULTI_A    "{\"id\":\"chatcmpl-AbC\",\"choices\":[{\"index\":0,"
#define P_MULTI_B    "\"delta\":{\"content\":\" multi-line " LS " raw\"},"   \
                     "\"finish_reason\":null}]}"
#define P_FINISH     "{\"id\":\"chatcmpl-AbC\",\"choices\":[{\"index\":0,"   \
                     "\"delta\":{},\"finish_reason\":\"stop\"}]}"


/*
 * The stream as the backend might send it: a comment, CRLF, LF and lone-CR
 * line ends, an "event:", "id:" and "retry:" line, "data:" without its space,
 * a two-line data event, and [DONE].
 */

static UNIT_UNUSED const char  stream[] =
    ": ChatOn keep-alive\r\n"
    "\r\n"
    "data: " P_PING "\r\n"
    "\r\n"
    "data:" P_ANALYTICS "\n"
    "\n"
    "event: message\n"
    "data: " P_OPERATION "\n"
    "\n"
    "data: " P_SOURCES "\r"
    "\r"
    "id: 42\n"
    "data: " P_REASONING "\n"
    "\n"
    "data: " P_CONTENT1 "\r\n"
    ": a comment between the data lines of nothing\r\n"
    "\r\n"
    "data: " P_CONTENT2 "\r\n"
    "\r\n"
    "data: " P_MULTI_A "\n"
    "data: " P_MULTI_B "\n"
    "\n"
    "retry: 3000\r\n"
    "data: " P_FINISH "\r\n"
    "\r\n"
    "data: [DONE]\n"
    "\n";

static UNIT_UNUSED const char  *expected[] = {
    P_PING, P_ANALYTICS, P_OPERATION, P_SOURCES, P_REASONING, P_CONTENT1,
    P_CONTENT2, P_MULTI_A "\n" P_MULTI_B, P_FINISH, "[DONE]",
};

#define NEXPECTED  (sizeof(expected) / sizeof(expected[0]))
#define STREAM_LEN (sizeof(stream) - 1)


#endif /* UNIT_STREAM_H */
