// The roadmap's Go line, measured: net/http, no framework, GOMAXPROCS=1 (one core, as the
// stages), serving the lab's routes with the stages' bytes (servers/core/app.py).
//
//	go build -o qpslab-go . && ./qpslab-go --port N    (prints "listening on http://127.0.0.1:N")
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	text       = "text/plain; charset=utf-8"
	maxDelayMs = 1000 // servers/core/limits.py's
)

var (
	plaintext = []byte("Hello, World!")
	health    = []byte("ok\n")
)

type message struct {
	Message string `json:"message"`
}

func send(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h["Server"] = []string{"go"}
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}

func handle(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/plaintext":
		send(w, 200, text, plaintext)
	case path == "/json":
		// Serialized per request, as TechEmpower's json test requires (and as the stages do).
		body, _ := json.Marshal(message{"Hello, World!"})
		send(w, 200, "application/json", body)
	case path == "/health":
		send(w, 200, text, health)
	case strings.HasPrefix(path, "/delay/"):
		arg := path[len("/delay/"):]
		ms, err := strconv.Atoi(arg)
		if err != nil || ms < 0 || strings.TrimLeft(arg, "0123456789") != "" {
			send(w, 404, text, []byte("not found\n"))
		} else if len(arg) > 9 || ms > maxDelayMs {
			send(w, 400, text, []byte(fmt.Sprintf("/delay/{ms} waits at most %d\n", maxDelayMs)))
		} else {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			send(w, 200, text, plaintext)
		}
	default:
		send(w, 404, text, []byte("not found\n"))
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	port := flag.Int("port", 8080, "port; 0 picks a free one")
	flag.Parse()
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot listen: %v\n", err)
		os.Exit(2)
	}
	fmt.Printf("listening on http://%s\n", listener.Addr())
	// Keep-alive as the stages' (5 s idle).
	server := &http.Server{Handler: http.HandlerFunc(handle), IdleTimeout: 5 * time.Second}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		server.Shutdown(ctx)
	}()
	if err := server.Serve(listener); err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
}
