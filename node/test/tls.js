'use strict';
// An HTTPS front for LocalStack, for the tests that must see the store's AWS calls go over TLS (the
// known trap of Rust-backed Node modules, cachix/secretspec#343, shows only once a TLS handshake has
// succeeded): a throwaway CA and a certificate for localhost and 127.0.0.1 (made with the openssl
// command), and a proxy that forwards each request to LocalStack. The store trusts the CA through
// SSL_CERT_FILE, as the AWS SDK's TLS reads it.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

/** Makes a CA and a server certificate signed by it in a new folder; their paths. */
function makeCertificates() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-tls-'));
  const file = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1',
    '-subj', '/CN=zoho-token-store test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
  fs.writeFileSync(
    file('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' +
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    '-CAcreateserial', '-out', file('server.pem'), '-days', '1', '-extfile', file('server.ext'));
  return { ca: file('ca.pem'), key: file('server.key'), cert: file('server.pem') };
}

/**
 * Starts an HTTPS proxy to `upstream` (LocalStack's http:// URL) on a free port of 127.0.0.1; resolves
 * with its URL, the CA file to trust, how many TLS sessions it served, and `close()`.
 */
async function startTlsProxy(upstream) {
  const certificates = makeCertificates();
  const target = new URL(upstream);
  let handshakes = 0;
  const sockets = new Set();
  const server = https.createServer(
    { key: fs.readFileSync(certificates.key), cert: fs.readFileSync(certificates.cert) },
    (request, response) => {
      const forwarded = http.request(
        { host: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode, answer.headers);
          answer.pipe(response);
        },
      );
      forwarded.on('error', () => response.destroy());
      request.pipe(forwarded);
    },
  );
  server.on('secureConnection', (socket) => {
    handshakes += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://localhost:${server.address().port}`,
    ca: certificates.ca,
    handshakes: () => handshakes,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

module.exports = { startTlsProxy };
