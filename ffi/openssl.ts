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
  // uint64_t SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op) (unsigned long in 1.1; the result is not used)
  SSL_CTX_set_options: { params: ["ptr", "i64"], result: "void" },
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

/** SSL_ctrl / SSL_CTX_ctrl commands behind OpenSSL's macros. */
export const SSL_CTRL_MODE = 33;
export const SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;
export const SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
export const SSL_CTRL_SET_MAX_PROTO_VERSION = 124;
export const SSL_CTRL_GET_MIN_PROTO_VERSION = 130;
export const SSL_CTRL_GET_MAX_PROTO_VERSION = 131;
export const TLSEXT_NAMETYPE_host_name = 0;

/** SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: a retried SSL_write may pass the same bytes at another address. */
export const SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2;
export const SSL_MODE_AUTO_RETRY = 0x4;

/** Options set on every context, as CPython's defaults plus no renegotiation. */
export const SSL_OP_ALL = 0x80000850;
export const SSL_OP_NO_COMPRESSION = 0x20000;
export const SSL_OP_CIPHER_SERVER_PREFERENCE = 0x400000;
export const SSL_OP_NO_RENEGOTIATION = 0x40000000;

/** BIO_ctrl command behind BIO_set_mem_eof_return. */
export const BIO_C_SET_BUF_MEM_EOF_RETURN = 130;

export const SSL_TLSEXT_ERR_OK = 0;
export const SSL_TLSEXT_ERR_NOACK = 3;
export const OPENSSL_NPN_NEGOTIATED = 1;

export const X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS = 0x4;
export const X509_V_OK = 0;
export const X509_V_ERR_HOSTNAME_MISMATCH = 62;
export const X509_V_ERR_IP_ADDRESS_MISMATCH = 64;

/** Error-queue libraries (ERR_GET_LIB) that name a Python `SSLError.library`. */
export const ERR_LIB_SYS = 2;
export const ERR_LIB_SSL = 20;
/** SSL_R_CERTIFICATE_VERIFY_FAILED: the reason that makes an SSLCertVerificationError. */
export const SSL_R_CERTIFICATE_VERIFY_FAILED = 134;
