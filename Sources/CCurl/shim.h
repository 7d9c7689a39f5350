#ifndef CTI_CCURL_SHIM_H
#define CTI_CCURL_SHIM_H
#include <curl/curl.h>
#endif
