/**
 * The OpenSSL symbol tables (libssl and libcrypto), written once with the C
 * prototype beside each entry, in the same runtime-neutral form as libc.ts;
 * `Native.loadLibrary` binds them. Only what the memory-BIO TLS layer needs
 * (FFI-NOTES.md §7): OpenSSL's macros (`SSL_set_tlsext_host_name`,
 * `BIO_set_mem_eof_return`, `SSL_CTX_set_min_proto_version`, ...) are the
 * `*_ctrl` calls with the command numbers below.
 *
 * `long` results are declared `ssize` (narrowed to 32 bits): the values read
 * through them (verify results, pending byte counts, protocol versions) are
 * small. `long` parameters are `i64`, full width.
 */

import type { SymbolDef } from "./types.ts";

const def = <T extends Record<string, SymbolDef>>(t: T): T => t;

export const libsslSymbols = def({
  // const SSL_METHOD *TLS_method(void)
  TLS_method: { params: [], result: "ptr" },
  // SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)
  SSL_CTX_new: { params: ["ptr"], result: "ptr" },
  // void SSL_CTX_free(SSL_CTX *ctx)
  SSL_CTX_free: { params: ["ptr"], result: "void" },
  // long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg)
  SSL_CTX_ctrl: { params: ["ptr", "i32", "i64", "buf"], result: "ssize" },
  // uint64_t SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op) (unsigned long in 1.1: 64 bits on LP64 too)
  SSL_CTX_set_options: { params: ["ptr", "i64"], result: "i64" },
  // uint64_t SSL_CTX_clear_options(SSL_CTX *ctx, uint64_t op)
  SSL_CTX_clear_options: { params: ["ptr", "i64"], result: "i64" },
  // uint64_t SSL_CTX_get_options(const SSL_CTX *ctx)
  SSL_CTX_get_options: { params: ["ptr"], result: "i64" },
  // int SSL_CTX_set_session_id_context(SSL_CTX *ctx, const unsigned char *sid_ctx, unsigned int sid_ctx_len)
  SSL_CTX_set_session_id_context: { params: ["ptr", "buf", "u32"], result: "i32" },
  // X509_VERIFY_PARAM *SSL_CTX_get0_param(SSL_CTX *ctx)
  SSL_CTX_get0_param: { params: ["ptr"], result: "ptr" },
  // void SSL_CTX_set_verify(SSL_CTX *ctx, int mode, SSL_verify_cb verify_callback)
  SSL_CTX_set_verify: { params: ["ptr", "i32", "ptr"], result: "void" },
  // int SSL_CTX_use_certificate_chain_file(SSL_CTX *ctx, const char *file)
  SSL_CTX_use_certificate_chain_file: { params: ["ptr", "buf"], result: "i32" },
  // int SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type)
  SSL_CTX_use_PrivateKey_file: { params: ["ptr", "buf", "i32"], result: "i32" },
  // int SSL_CTX_check_private_key(const SSL_CTX *ctx)
  SSL_CTX_check_private_key: { params: ["ptr"], result: "i32" },
  // void SSL_CTX_set_default_passwd_cb_userdata(SSL_CTX *ctx, void *u)
  SSL_CTX_set_default_passwd_cb_userdata: { params: ["ptr", "buf"], result: "void" },
  // int SSL_CTX_load_verify_locations(SSL_CTX *ctx, const char *CAfile, const char *CApath)
  SSL_CTX_load_verify_locations: { params: ["ptr", "buf", "buf"], result: "i32" },
  // int SSL_CTX_set_default_verify_paths(SSL_CTX *ctx)
  SSL_CTX_set_default_verify_paths: { params: ["ptr"], result: "i32" },
  // X509_STORE *SSL_CTX_get_cert_store(const SSL_CTX *ctx)
  SSL_CTX_get_cert_store: { params: ["ptr"], result: "ptr" },
  // int SSL_CTX_set_cipher_list(SSL_CTX *ctx, const char *str)
  SSL_CTX_set_cipher_list: { params: ["ptr", "buf"], result: "i32" },
  // int SSL_CTX_set_alpn_protos(SSL_CTX *ctx, const unsigned char *protos, unsigned int protos_len): 0 on success
  SSL_CTX_set_alpn_protos: { params: ["ptr", "buf", "u32"], result: "i32" },
  // void SSL_CTX_set_alpn_select_cb(SSL_CTX *ctx, SSL_CTX_alpn_select_cb_func cb, void *arg)
  SSL_CTX_set_alpn_select_cb: { params: ["ptr", "ptr", "ptr"], result: "void" },
  // int SSL_select_next_proto(unsigned char **out, unsigned char *outlen, const unsigned char *server,
  //                           unsigned int server_len, const unsigned char *client, unsigned int client_len)
  SSL_select_next_proto: { params: ["ptr", "ptr", "buf", "u32", "ptr", "u32"], result: "i32" },
  // long SSL_CTX_callback_ctrl(SSL_CTX *ctx, int cmd, void (*fp)(void)): SSL_CTX_set_tlsext_servername_callback
  SSL_CTX_callback_ctrl: { params: ["ptr", "i32", "ptr"], result: "ssize" },
  // const char *SSL_get_servername(const SSL *s, const int type): the client's SNI name, or NULL
  SSL_get_servername: { params: ["ptr", "i32"], result: "cstr" },
  // SSL_CTX *SSL_set_SSL_CTX(SSL *ssl, SSL_CTX *ctx): switch a server connection's certificate (SNI)
  SSL_set_SSL_CTX: { params: ["ptr", "ptr"], result: "ptr" },

  // SSL *SSL_new(SSL_CTX *ctx)
  SSL_new: { params: ["ptr"], result: "ptr" },
  // void SSL_free(SSL *ssl)
  SSL_free: { params: ["ptr"], result: "void" },
  // void SSL_set_bio(SSL *ssl, BIO *rbio, BIO *wbio): takes ownership of both
  SSL_set_bio: { params: ["ptr", "ptr", "ptr"], result: "void" },
  // void SSL_set_connect_state(SSL *ssl)
  SSL_set_connect_state: { params: ["ptr"], result: "void" },
  // void SSL_set_accept_state(SSL *ssl)
  SSL_set_accept_state: { params: ["ptr"], result: "void" },
  // int SSL_do_handshake(SSL *ssl): may call the ALPN select callback
  SSL_do_handshake: { params: ["ptr"], result: "i32" },
  // int SSL_read(SSL *ssl, void *buf, int num)
  SSL_read: { params: ["ptr", "buf", "i32"], result: "i32" },
  // int SSL_write(SSL *ssl, const void *buf, int num)
  SSL_write: { params: ["ptr", "buf", "i32"], result: "i32" },
  // int SSL_shutdown(SSL *ssl)
  SSL_shutdown: { params: ["ptr"], result: "i32" },
  // int SSL_get_error(const SSL *ssl, int ret)
  SSL_get_error: { params: ["ptr", "i32"], result: "i32" },
  // long SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg)
  SSL_ctrl: { params: ["ptr", "i32", "i64", "buf"], result: "ssize" },
  // int SSL_set1_host(SSL *s, const char *hostname)
  SSL_set1_host: { params: ["ptr", "buf"], result: "i32" },
  // X509_VERIFY_PARAM *SSL_get0_param(SSL *ssl)
  SSL_get0_param: { params: ["ptr"], result: "ptr" },
  // const char *SSL_get_version(const SSL *ssl)
  SSL_get_version: { params: ["ptr"], result: "cstr" },
  // const SSL_CIPHER *SSL_get_current_cipher(const SSL *ssl)
  SSL_get_current_cipher: { params: ["ptr"], result: "ptr" },
  // const char *SSL_CIPHER_get_name(const SSL_CIPHER *cipher)
  SSL_CIPHER_get_name: { params: ["ptr"], result: "cstr" },
  // const char *SSL_CIPHER_get_version(const SSL_CIPHER *cipher)
  SSL_CIPHER_get_version: { params: ["ptr"], result: "cstr" },
  // int SSL_CIPHER_get_bits(const SSL_CIPHER *cipher, int *alg_bits)
  SSL_CIPHER_get_bits: { params: ["ptr", "buf"], result: "i32" },
  // void SSL_get0_alpn_selected(const SSL *ssl, const unsigned char **data, unsigned int *len)
  SSL_get0_alpn_selected: { params: ["ptr", "buf", "buf"], result: "void" },
  // X509 *SSL_get1_peer_certificate(const SSL *ssl): OpenSSL 3
  SSL_get1_peer_certificate: { params: ["ptr"], result: "ptr", optional: true },
  // X509 *SSL_get_peer_certificate(const SSL *ssl): its 1.1 name (a macro in 3)
  SSL_get_peer_certificate: { params: ["ptr"], result: "ptr", optional: true },
  // long SSL_get_verify_result(const SSL *ssl)
  SSL_get_verify_result: { params: ["ptr"], result: "ssize" },
  // int SSL_pending(const SSL *ssl)
  SSL_pending: { params: ["ptr"], result: "i32" },

  // int SSL_CTX_get_security_level(const SSL_CTX *ctx)
  SSL_CTX_get_security_level: { params: ["ptr"], result: "i32" },
  // size_t SSL_get_finished(const SSL *s, void *buf, size_t count): the full length
  SSL_get_finished: { params: ["ptr", "buf", "usize"], result: "ssize" },
  // size_t SSL_get_peer_finished(const SSL *s, void *buf, size_t count)
  SSL_get_peer_finished: { params: ["ptr", "buf", "usize"], result: "ssize" },
  // SSL_SESSION *SSL_get1_session(SSL *ssl): a new reference, or NULL
  SSL_get1_session: { params: ["ptr"], result: "ptr" },
  // int SSL_set_session(SSL *ssl, SSL_SESSION *session): takes its own reference
  SSL_set_session: { params: ["ptr", "ptr"], result: "i32" },
  // int SSL_session_reused(const SSL *ssl)
  SSL_session_reused: { params: ["ptr"], result: "i32" },
  // void SSL_SESSION_free(SSL_SESSION *session)
  SSL_SESSION_free: { params: ["ptr"], result: "void" },
  // int SSL_SESSION_up_ref(SSL_SESSION *session)
  SSL_SESSION_up_ref: { params: ["ptr"], result: "i32" },
  // const unsigned char *SSL_SESSION_get_id(const SSL_SESSION *s, unsigned int *len)
  SSL_SESSION_get_id: { params: ["ptr", "buf"], result: "ptr" },
  // long SSL_SESSION_get_time(const SSL_SESSION *s)
  SSL_SESSION_get_time: { params: ["ptr"], result: "i64" },
  // long SSL_SESSION_get_timeout(const SSL_SESSION *s)
  SSL_SESSION_get_timeout: { params: ["ptr"], result: "i64" },
  // int SSL_SESSION_has_ticket(const SSL_SESSION *s)
  SSL_SESSION_has_ticket: { params: ["ptr"], result: "i32" },
  // unsigned long SSL_SESSION_get_ticket_lifetime_hint(const SSL_SESSION *s)
  SSL_SESSION_get_ticket_lifetime_hint: { params: ["ptr"], result: "i64" },
  // int SSL_SESSION_is_resumable(const SSL_SESSION *s)
  SSL_SESSION_is_resumable: { params: ["ptr"], result: "i32" },

  // void SSL_CTX_set_keylog_callback(SSL_CTX *ctx, void (*cb)(const SSL *ssl, const char *line)) (1.1.1+)
  SSL_CTX_set_keylog_callback: { params: ["ptr", "ptr"], result: "void", optional: true },
  // void SSL_set_post_handshake_auth(SSL *ssl, int val) (1.1.1+): a client offers TLS 1.3 post-handshake auth
  SSL_set_post_handshake_auth: { params: ["ptr", "i32"], result: "void", optional: true },
  // int SSL_verify_client_post_handshake(SSL *ssl) (1.1.1+): a server asks for the client's certificate
  SSL_verify_client_post_handshake: { params: ["ptr"], result: "i32", optional: true },
  // int SSL_get_verify_mode(const SSL *ssl)
  SSL_get_verify_mode: { params: ["ptr"], result: "i32" },
  // void SSL_set_verify(SSL *ssl, int mode, SSL_verify_cb callback)
  SSL_set_verify: { params: ["ptr", "i32", "ptr"], result: "void" },
  // SSL_verify_cb SSL_get_verify_callback(const SSL *ssl)
  SSL_get_verify_callback: { params: ["ptr"], result: "ptr" },
  // STACK_OF(SSL_CIPHER) *SSL_get_ciphers(const SSL *ssl): ours, in preference order
  SSL_get_ciphers: { params: ["ptr"], result: "ptr" },
  // STACK_OF(SSL_CIPHER) *SSL_get_client_ciphers(const SSL *ssl): what the client offered (servers only)
  SSL_get_client_ciphers: { params: ["ptr"], result: "ptr" },
  // uint32_t SSL_CIPHER_get_id(const SSL_CIPHER *c)
  SSL_CIPHER_get_id: { params: ["ptr"], result: "u32" },
  // int SSL_CTX_set_num_tickets(SSL_CTX *ctx, size_t num_tickets) (1.1.1+)
  SSL_CTX_set_num_tickets: { params: ["ptr", "usize"], result: "i32", optional: true },
  // size_t SSL_CTX_get_num_tickets(const SSL_CTX *ctx) (1.1.1+)
  SSL_CTX_get_num_tickets: { params: ["ptr"], result: "usize", optional: true },
  // STACK_OF(SSL_CIPHER) *SSL_CTX_get_ciphers(const SSL_CTX *ctx)
  SSL_CTX_get_ciphers: { params: ["ptr"], result: "ptr" },
  // char *SSL_CIPHER_description(const SSL_CIPHER *cipher, char *buf, int size)
  SSL_CIPHER_description: { params: ["ptr", "buf", "i32"], result: "ptr" },
  // int SSL_CIPHER_is_aead(const SSL_CIPHER *c)
  SSL_CIPHER_is_aead: { params: ["ptr"], result: "i32" },
  // int SSL_CIPHER_get_cipher_nid / get_digest_nid / get_kx_nid / get_auth_nid(const SSL_CIPHER *c): NID_undef (0) when none
  SSL_CIPHER_get_cipher_nid: { params: ["ptr"], result: "i32" },
  SSL_CIPHER_get_digest_nid: { params: ["ptr"], result: "i32" },
  SSL_CIPHER_get_kx_nid: { params: ["ptr"], result: "i32" },
  SSL_CIPHER_get_auth_nid: { params: ["ptr"], result: "i32" },
  // int SSL_CTX_set0_tmp_dh_pkey(SSL_CTX *ctx, EVP_PKEY *dhpkey) (3.0+): takes the key on success
  SSL_CTX_set0_tmp_dh_pkey: { params: ["ptr", "ptr"], result: "i32", optional: true },
});

export const libcryptoSymbols = def({
  // unsigned long OpenSSL_version_num(void)
  OpenSSL_version_num: { params: [], result: "u32" },
  // const BIO_METHOD *BIO_s_mem(void)
  BIO_s_mem: { params: [], result: "ptr" },
  // BIO *BIO_new(const BIO_METHOD *type)
  BIO_new: { params: ["ptr"], result: "ptr" },
  // BIO *BIO_new_mem_buf(const void *buf, int len): read-only, borrows buf
  BIO_new_mem_buf: { params: ["buf", "i32"], result: "ptr" },
  // int BIO_free(BIO *a)
  BIO_free: { params: ["ptr"], result: "i32" },
  // int BIO_read(BIO *b, void *data, int dlen)
  BIO_read: { params: ["ptr", "buf", "i32"], result: "i32" },
  // int BIO_write(BIO *b, const void *data, int dlen)
  BIO_write: { params: ["ptr", "buf", "i32"], result: "i32" },
  // long BIO_ctrl(BIO *bp, int cmd, long larg, void *parg)
  BIO_ctrl: { params: ["ptr", "i32", "i64", "buf"], result: "ssize" },
  // size_t BIO_ctrl_pending(BIO *b)
  BIO_ctrl_pending: { params: ["ptr"], result: "ssize" },
  // unsigned long ERR_get_error(void): 32 bits are used (lib, reason, system flag)
  ERR_get_error: { params: [], result: "u32" },
  // void ERR_clear_error(void)
  ERR_clear_error: { params: [], result: "void" },
  // const char *ERR_reason_error_string(unsigned long e)
  ERR_reason_error_string: { params: ["usize"], result: "cstr" },
  // const char *ERR_lib_error_string(unsigned long e)
  ERR_lib_error_string: { params: ["usize"], result: "cstr" },
  // const char *X509_verify_cert_error_string(long n)
  X509_verify_cert_error_string: { params: ["i64"], result: "cstr" },
  // int i2d_X509(const X509 *a, unsigned char **out): DER; with out NULL, only the length
  i2d_X509: { params: ["ptr", "buf"], result: "i32" },
  // void X509_free(X509 *a)
  X509_free: { params: ["ptr"], result: "void" },
  // X509 *PEM_read_bio_X509(BIO *bp, X509 **x, pem_password_cb *cb, void *u)
  PEM_read_bio_X509: { params: ["ptr", "buf", "buf", "buf"], result: "ptr" },
  // X509 *d2i_X509_bio(BIO *bp, X509 **x)
  d2i_X509_bio: { params: ["ptr", "buf"], result: "ptr" },
  // int X509_STORE_add_cert(X509_STORE *xs, X509 *x): takes its own reference
  X509_STORE_add_cert: { params: ["ptr", "ptr"], result: "i32" },
  // int X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM *param, const char *ipasc)
  X509_VERIFY_PARAM_set1_ip_asc: { params: ["ptr", "buf"], result: "i32" },
  // void X509_VERIFY_PARAM_set_hostflags(X509_VERIFY_PARAM *param, unsigned int flags)
  X509_VERIFY_PARAM_set_hostflags: { params: ["ptr", "u32"], result: "void" },
  // int OBJ_txt2nid(const char *s)
  OBJ_txt2nid: { params: ["buf"], result: "i32" },
  // const char *OBJ_nid2ln(int n)
  OBJ_nid2ln: { params: ["i32"], result: "cstr" },
  // unsigned long X509_VERIFY_PARAM_get_flags(const X509_VERIFY_PARAM *param)
  X509_VERIFY_PARAM_get_flags: { params: ["ptr"], result: "i64" },
  // int X509_VERIFY_PARAM_set_flags(X509_VERIFY_PARAM *param, unsigned long flags)
  X509_VERIFY_PARAM_set_flags: { params: ["ptr", "i64"], result: "i32" },
  // int X509_VERIFY_PARAM_clear_flags(X509_VERIFY_PARAM *param, unsigned long flags)
  X509_VERIFY_PARAM_clear_flags: { params: ["ptr", "i64"], result: "i32" },
  // X509_CRL *PEM_read_bio_X509_CRL(BIO *bp, X509_CRL **x, pem_password_cb *cb, void *u)
  PEM_read_bio_X509_CRL: { params: ["ptr", "buf", "buf", "buf"], result: "ptr" },
  // int X509_STORE_add_crl(X509_STORE *xs, X509_CRL *x): takes its own reference
  X509_STORE_add_crl: { params: ["ptr", "ptr"], result: "i32" },
  // void X509_CRL_free(X509_CRL *a)
  X509_CRL_free: { params: ["ptr"], result: "void" },
  // STACK_OF(X509_OBJECT) *X509_STORE_get0_objects(const X509_STORE *xs)
  X509_STORE_get0_objects: { params: ["ptr"], result: "ptr" },
  // int OPENSSL_sk_num(const OPENSSL_STACK *st)
  OPENSSL_sk_num: { params: ["ptr"], result: "i32" },
  // void *OPENSSL_sk_value(const OPENSSL_STACK *st, int i)
  OPENSSL_sk_value: { params: ["ptr", "i32"], result: "ptr" },
  // X509_LOOKUP_TYPE X509_OBJECT_get_type(const X509_OBJECT *a)
  X509_OBJECT_get_type: { params: ["ptr"], result: "i32" },
  // X509 *X509_OBJECT_get0_X509(const X509_OBJECT *a)
  X509_OBJECT_get0_X509: { params: ["ptr"], result: "ptr" },
  // int X509_check_ca(X509 *x): non-zero for a CA certificate
  X509_check_ca: { params: ["ptr"], result: "i32" },
  // size_t OPENSSL_strlcpy(char *dst, const char *src, size_t size): writes the servername
  // callback's `int *al` out-value (the one C pointer we must write through; see ssl.ts)
  // BIO *BIO_new_file(const char *filename, const char *mode): errno lands in the error queue (ERR_LIB_SYS)
  BIO_new_file: { params: ["buf", "buf"], result: "ptr" },
  // EVP_PKEY *PEM_read_bio_Parameters(BIO *bp, EVP_PKEY **x)
  PEM_read_bio_Parameters: { params: ["ptr", "buf"], result: "ptr" },
  // int EVP_PKEY_is_a(const EVP_PKEY *pkey, const char *name) (3.0+)
  EVP_PKEY_is_a: { params: ["ptr", "buf"], result: "i32", optional: true },
  // void EVP_PKEY_free(EVP_PKEY *key)
  EVP_PKEY_free: { params: ["ptr"], result: "void" },
  // int OBJ_sn2nid(const char *sn)
  OBJ_sn2nid: { params: ["buf"], result: "i32" },
  OPENSSL_strlcpy: { params: ["ptr", "buf", "usize"], result: "ssize", optional: true },
});

export type LibsslSymbols = typeof libsslSymbols;
export type LibcryptoSymbols = typeof libcryptoSymbols;

/**
 * Where OpenSSL lives, newest first; libssl and libcrypto of the same index
 * belong together. Never the unversioned names: on Debian `libssl3.so` is
 * NSS, and on macOS the system's `libssl.dylib` aborts the process.
 */
export const opensslPaths = {
  linux: [["libssl.so.3", "libcrypto.so.3"], ["libssl.so.1.1", "libcrypto.so.1.1"]],
  darwin: [
    ["/opt/homebrew/opt/openssl@3/lib/libssl.3.dylib", "/opt/homebrew/opt/openssl@3/lib/libcrypto.3.dylib"],
    ["/usr/local/opt/openssl@3/lib/libssl.3.dylib", "/usr/local/opt/openssl@3/lib/libcrypto.3.dylib"],
  ],
} as const;

// ---- constants (ssl.h, bio.h, x509_vfy.h, tls1.h) ----

/** SSL_get_error results. */
export const SSL_ERROR_SSL = 1;
export const SSL_ERROR_WANT_READ = 2;
export const SSL_ERROR_WANT_WRITE = 3;
export const SSL_ERROR_SYSCALL = 5;
export const SSL_ERROR_ZERO_RETURN = 6;

export const SSL_FILETYPE_PEM = 1;
export const SSL_VERIFY_NONE = 0;
export const SSL_VERIFY_PEER = 1;
export const SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 2;
/** Ask for the client's certificate only after the handshake (TLS 1.3), when the server says so. */
export const SSL_VERIFY_POST_HANDSHAKE = 0x8;

/** SSL_ctrl / SSL_CTX_ctrl commands behind OpenSSL's macros. */
export const SSL_CTRL_MODE = 33;
export const SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;
export const SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
export const SSL_CTRL_SET_MAX_PROTO_VERSION = 124;
export const SSL_CTRL_GET_MIN_PROTO_VERSION = 130;
export const SSL_CTRL_GET_MAX_PROTO_VERSION = 131;
export const TLSEXT_NAMETYPE_host_name = 0;
/** SSL_CTX_ctrl command behind SSL_CTX_set1_groups (parg: an int array of NIDs). */
export const SSL_CTRL_SET_GROUPS = 91;
/** BIO_ctrl commands: BIO_flush, BIO_tell on a file BIO. */
export const BIO_CTRL_FLUSH = 11;
export const BIO_C_FILE_TELL = 133;

/** SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: a retried SSL_write may pass the same bytes at another address. */
export const SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2;
export const SSL_MODE_AUTO_RETRY = 0x4;

/**
 * SSL_OP_* bits (ssl.h, OpenSSL 3; options are 64-bit there). SSL_OP_ALL is
 * OpenSSL 3's bug-workaround set (1.1's also had LEGACY_SERVER_CONNECT);
 * SSL_OP_NO_SSLv2, SINGLE_DH_USE and SINGLE_ECDH_USE are 0 since 1.1.0.
 */
export const SSL_OP_ALL = 0x80000850;
export const SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS = 0x800;
export const SSL_OP_LEGACY_SERVER_CONNECT = 0x4;
export const SSL_OP_ENABLE_KTLS = 0x8;
export const SSL_OP_IGNORE_UNEXPECTED_EOF = 0x80;
export const SSL_OP_NO_TICKET = 0x4000;
export const SSL_OP_NO_COMPRESSION = 0x20000;
export const SSL_OP_ENABLE_MIDDLEBOX_COMPAT = 0x100000;
export const SSL_OP_CIPHER_SERVER_PREFERENCE = 0x400000;
export const SSL_OP_NO_SSLv3 = 0x2000000;
export const SSL_OP_NO_TLSv1 = 0x4000000;
export const SSL_OP_NO_TLSv1_2 = 0x8000000;
export const SSL_OP_NO_TLSv1_1 = 0x10000000;
export const SSL_OP_NO_TLSv1_3 = 0x20000000;
export const SSL_OP_NO_RENEGOTIATION = 0x40000000;

/** SSL_CTX_ctrl commands for the session cache statistics (SSL_CTX_sess_*). */
export const SSL_CTRL_SESS_NUMBER = 20;
export const SSL_CTRL_SESS_CONNECT = 21;
export const SSL_CTRL_SESS_CONNECT_GOOD = 22;
export const SSL_CTRL_SESS_CONNECT_RENEGOTIATE = 23;
export const SSL_CTRL_SESS_ACCEPT = 24;
export const SSL_CTRL_SESS_ACCEPT_GOOD = 25;
export const SSL_CTRL_SESS_ACCEPT_RENEGOTIATE = 26;
export const SSL_CTRL_SESS_HIT = 27;
export const SSL_CTRL_SESS_MISSES = 29;
export const SSL_CTRL_SESS_TIMEOUTS = 30;
export const SSL_CTRL_SESS_CACHE_FULL = 31;
export const SSL_CTRL_GET_TOTAL_RENEGOTIATIONS = 12;

/** X509_STORE object types (X509_LOOKUP_TYPE). */
export const X509_LU_X509 = 1;
export const X509_LU_CRL = 2;

/** BIO_ctrl command behind BIO_set_mem_eof_return. */
export const BIO_C_SET_BUF_MEM_EOF_RETURN = 130;

export const SSL_TLSEXT_ERR_OK = 0;
export const SSL_TLSEXT_ERR_ALERT_FATAL = 2;
export const SSL_TLSEXT_ERR_NOACK = 3;
/** SSL_CTX_callback_ctrl command behind SSL_CTX_set_tlsext_servername_callback. */
export const SSL_CTRL_SET_TLSEXT_SERVERNAME_CB = 53;
export const OPENSSL_NPN_NEGOTIATED = 1;

export const X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS = 0x4;
/** Never match the host name against the subject's commonName (only subjectAltName). */
export const X509_CHECK_FLAG_NEVER_CHECK_SUBJECT = 0x20;
export const X509_V_OK = 0;
export const X509_V_ERR_HOSTNAME_MISMATCH = 62;
export const X509_V_ERR_IP_ADDRESS_MISMATCH = 64;

/** Error-queue libraries (ERR_GET_LIB) that name a Python `SSLError.library`. */
export const ERR_LIB_SYS = 2;
export const ERR_LIB_SSL = 20;
/** SSL_R_CERTIFICATE_VERIFY_FAILED: the reason that makes an SSLCertVerificationError. */
export const SSL_R_CERTIFICATE_VERIFY_FAILED = 134;
