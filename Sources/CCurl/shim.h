#ifndef CTI_CCURL_SHIM_H
#define CTI_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call. These typed
// wrappers give Swift one entry point per argument type. `static inline` keeps them out of the
// link (no C target needed, no duplicate symbols).

/// Options that take a `long` (flags, timeouts, enums such as CURLOPT_HTTP_VERSION).
static inline CURLcode cti_curl_setopt_long(CURL *handle, CURLoption option, long value) {
  return curl_easy_setopt(handle, option, value);
}

/// Options that take a `curl_off_t` (the *_LARGE sizes and speeds).
static inline CURLcode cti_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
  return curl_easy_setopt(handle, option, value);
}

/// Options that take a pointer: strings (copied by libcurl), `curl_slist *`, user data.
static inline CURLcode cti_curl_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
  return curl_easy_setopt(handle, option, value);
}

/// CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION (same signature as a write callback).
static inline CURLcode cti_curl_setopt_write_callback(CURL *handle, CURLoption option,
                                                      curl_write_callback callback) {
  return curl_easy_setopt(handle, option, callback);
}

/// CURLOPT_READFUNCTION.
static inline CURLcode cti_curl_setopt_read_callback(CURL *handle, CURLoption option,
                                                     curl_read_callback callback) {
  return curl_easy_setopt(handle, option, callback);
}

/// CURLOPT_XFERINFOFUNCTION.
static inline CURLcode cti_curl_setopt_xferinfo_callback(CURL *handle, CURLoption option,
                                                         curl_xferinfo_callback callback) {
  return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode cti_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
  return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode cti_curl_getinfo_string(CURL *handle, CURLINFO info, char **value) {
  return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode cti_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
  return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode cti_curl_getinfo_offset(CURL *handle, CURLINFO info, curl_off_t *value) {
  return curl_easy_getinfo(handle, info, value);
}

// The CURLAUTH_* macros are built with casts, which Swift does not import. Re-exported here.
static const unsigned long CTI_CURLAUTH_NONE = CURLAUTH_NONE;
static const unsigned long CTI_CURLAUTH_BASIC = CURLAUTH_BASIC;
static const unsigned long CTI_CURLAUTH_DIGEST = CURLAUTH_DIGEST;
static const unsigned long CTI_CURLAUTH_NEGOTIATE = CURLAUTH_NEGOTIATE;
static const unsigned long CTI_CURLAUTH_BEARER = CURLAUTH_BEARER;
static const unsigned long CTI_CURLAUTH_AWS_SIGV4 = CURLAUTH_AWS_SIGV4;
static const unsigned long CTI_CURLAUTH_ANY = CURLAUTH_ANY;
static const unsigned long CTI_CURLAUTH_ANYSAFE = CURLAUTH_ANYSAFE;

// Other cast-built or function-like constants the transport uses.
static const long CTI_CURL_GLOBAL_DEFAULT = CURL_GLOBAL_DEFAULT;
static const long CTI_CURL_HTTP_VERSION_1_1 = CURL_HTTP_VERSION_1_1;
static const long CTI_CURL_SSLVERSION_TLSv1_2 = CURL_SSLVERSION_TLSv1_2;
static const long CTI_CURLPROTO_HTTP = CURLPROTO_HTTP;
static const long CTI_CURLPROTO_HTTPS = CURLPROTO_HTTPS;

#endif
