#ifndef CTI_CCRYPTO_SHIM_H
#define CTI_CCRYPTO_SHIM_H
#include <openssl/evp.h>

/// One-shot digest with an implementation fetched once (`EVP_MD_fetch`); returns 1 on success.
static inline int ccrypto_digest_with(const EVP_MD *md, const void *data, size_t length,
                                      unsigned char *out, unsigned int *outLength) {
  return EVP_Digest(data, length, out, outLength, md, NULL);
}
#endif
