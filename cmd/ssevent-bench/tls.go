package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"
)

// certEnv carries the server's certificate and key, PEM-encoded, from the
// driver to the serving process it starts.
const certEnv, keyEnv = "SSEVENT_BENCH_CERT", "SSEVENT_BENCH_KEY"

// selfSigned makes a certificate for localhost and 127.0.0.1, valid for a
// day, and its key, both PEM-encoded.
func selfSigned() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "ssevent-bench"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// protocols says what a server speaking proto accepts: http1 (plain
// HTTP/1.1), tls (HTTP/1.1 over TLS), h2 (HTTP/2 over TLS, HTTP/1.1 too)
// or h2c (HTTP/2 without TLS, by prior knowledge, and HTTP/1.1). It
// returns the TLS configuration, nil without TLS.
func protocols(srv *http.Server, proto string) (*tls.Config, error) {
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	// More streams per connection than Go's default of 250, so that one
	// server holds 100,000 streams on about 100 connections.
	srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: h2MaxStreams}
	switch proto {
	case "http1":
		return nil, nil
	case "h2c":
		srv.Protocols.SetUnencryptedHTTP2(true)
		return nil, nil
	case "tls", "h2":
	default:
		return nil, errors.New("unknown protocol " + proto)
	}
	cert, err := tls.X509KeyPair([]byte(os.Getenv(certEnv)), []byte(os.Getenv(keyEnv)))
	if err != nil {
		return nil, err
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	if proto == "h2" {
		srv.Protocols.SetHTTP2(true)
		conf.NextProtos = []string{"h2", "http/1.1"}
	}
	srv.TLSConfig = conf
	return conf, nil
}
