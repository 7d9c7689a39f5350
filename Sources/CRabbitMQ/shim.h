#ifndef CTI_CRABBITMQ_SHIM_H
#define CTI_CRABBITMQ_SHIM_H
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <openssl/ssl.h>
#include <sys/time.h>

// rabbitmq-c (Debian's librabbitmq-dev) seen from Swift. amqp_login is variadic and the method
// ids and property flags are cast-built macros, which Swift cannot import: these typed wrappers
// and constants stand in for them. `static inline` keeps them out of the link.

/// amqp_login with the PLAIN mechanism (the one pycti's pika uses), user and password as C strings.
static inline amqp_rpc_reply_t cti_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                    int channel_max, int frame_max, int heartbeat,
                                                    const char *user, const char *password) {
  return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

/// Waits up to `timeout_usec` microseconds for a frame (0: only what has already arrived).
static inline int cti_amqp_wait_frame(amqp_connection_state_t state, amqp_frame_t *frame, long timeout_usec) {
  struct timeval timeout;
  timeout.tv_sec = timeout_usec / 1000000;
  timeout.tv_usec = timeout_usec % 1000000;
  return amqp_simple_wait_frame_noblock(state, frame, &timeout);
}

/// Lets OpenSSL use the system's trusted certificates on a TLS socket (rabbitmq-c 0.11 does not
/// load them by itself), as Python's ssl.create_default_context does for pycti.
static inline int cti_amqp_ssl_use_default_verify_paths(amqp_socket_t *socket) {
  SSL_CTX *context = (SSL_CTX *)amqp_ssl_socket_get_context(socket);
  return context != NULL && SSL_CTX_set_default_verify_paths(context) == 1;
}

static const amqp_method_number_t CTI_AMQP_BASIC_ACK_METHOD = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t CTI_AMQP_BASIC_NACK_METHOD = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t CTI_AMQP_BASIC_RETURN_METHOD = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t CTI_AMQP_CHANNEL_CLOSE_METHOD = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t CTI_AMQP_CHANNEL_CLOSE_OK_METHOD = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t CTI_AMQP_CONNECTION_CLOSE_METHOD = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t CTI_AMQP_CONNECTION_CLOSE_OK_METHOD = AMQP_CONNECTION_CLOSE_OK_METHOD;
static const amqp_method_number_t CTI_AMQP_CONNECTION_BLOCKED_METHOD = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t CTI_AMQP_CONNECTION_UNBLOCKED_METHOD = AMQP_CONNECTION_UNBLOCKED_METHOD;
static const amqp_method_number_t CTI_AMQP_BASIC_GET_OK_METHOD = AMQP_BASIC_GET_OK_METHOD;
static const amqp_method_number_t CTI_AMQP_BASIC_GET_EMPTY_METHOD = AMQP_BASIC_GET_EMPTY_METHOD;

static const amqp_flags_t CTI_AMQP_BASIC_CONTENT_ENCODING_FLAG = AMQP_BASIC_CONTENT_ENCODING_FLAG;
static const amqp_flags_t CTI_AMQP_BASIC_CONTENT_TYPE_FLAG = AMQP_BASIC_CONTENT_TYPE_FLAG;
static const amqp_flags_t CTI_AMQP_BASIC_DELIVERY_MODE_FLAG = AMQP_BASIC_DELIVERY_MODE_FLAG;

static const int CTI_AMQP_DEFAULT_FRAME_SIZE = AMQP_DEFAULT_FRAME_SIZE;
static const int CTI_AMQP_REPLY_SUCCESS = AMQP_REPLY_SUCCESS;

#endif
