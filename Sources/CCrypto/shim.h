#ifndef CTI_CCRYPTO_SHIM_H
#define CTI_CCRYPTO_SHIM_H
#include <openssl/evp.h>

/// One-shot digest with OpenSSL's EVP interface; returns 1 on success.
static inline int ccrypto_digest(const char *algorithm, const void *data, size_t length,
                                 unsigned char *out, unsigned int *outLength) {
  const EVP_MD *md = EVP_get_digestbyname(algorithm);
  if (md == NULL) return 0;
  return EVP_Digest(data, length, out, outLength, md, NULL);
}
#endif
