/*
Copyright 2026 The mlpipe Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/mlpipe/mlpipe/pkg/ml"
	"github.com/mlpipe/mlpipe/pkg/store"
)

// ServeOptions are the flags of `step serve`.
type ServeOptions struct {
	// Model is the URI of model.json, its directory, or a registry's champion alias (<registry>/<name>/champion).
	Model string
	// Name is the model name in the URL paths (/v2/models/{name}/...).
	Name string
	// Addr is the listen address.
	Addr string
	// DrainDelay is how long the server keeps answering after it was told to stop, reporting not ready, before
	// it shuts down: time for a Service to stop routing to a terminating Pod, so that a rollout fails no request.
	DrainDelay time.Duration
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
	// MaxBodyBytes bounds an infer request's body.
	MaxBodyBytes int64
	// Ready, when set, receives the bound address once the server accepts connections.
	Ready func(addr net.Addr)
	// Clock times the drain and the request log; nil is the real clock.
	Clock clock.Clock
}

func newServeCommand() *cobra.Command {
	o := &ServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a model over the Open Inference Protocol v2 (REST)",
		Long: "Serves /v2/health/live, /v2/health/ready, /v2/models/{name}, /v2/models/{name}/ready and\n" +
			"POST /v2/models/{name}/infer (also under /v2/models/{name}/versions/{version}/: the registry version, or the\n" +
			"model.json digest for a model from outside a registry). An infer request carries raw feature values either as one input tensor per\n" +
			"raw column (named after the column, shape [N]) or as one tensor of shape [N, C] holding whole rows in the\n" +
			"column order of the model's metadata (BYTES for mixed rows, FP32/FP64 when every column is numeric).\n" +
			"The response has outputs predicted_class (BYTES [N]) and probabilities (FP64 [N, K], classes in the order\n" +
			"of parameters.classes). A category the model was not trained on is refused (400) with the known ones; a\n" +
			"missing value is filled as in training when the model imputes (preprocess --missing=impute), else refused.\n" +
			"Each request is logged as one JSON line (time, method, path, status, bytes, durationMs, remote, error).\n" +
			"--model may name a registry's champion alias (<registry>/<name>/champion): the version it points at is\n" +
			"served. On SIGTERM/SIGINT it reports not ready, keeps answering for --drain-delay, then shuts\n" +
			"down gracefully. --model reads file://, a path or s3:// (with the AWS_* environment, as every step).",
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.Model, "model", "", "URI of model.json, its directory, or a registry's champion alias (<registry>/<name>/champion)")
	cmd.Flags().StringVar(&o.Name, "name", "", "model name used in the URL paths")
	cmd.Flags().StringVar(&o.Addr, "addr", ":8080", "listen address")
	cmd.Flags().DurationVar(&o.DrainDelay, "drain-delay", 0, "how long to keep answering, not ready, after SIGTERM before shutting down")
	cmd.Flags().DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "graceful shutdown timeout")
	cmd.Flags().Int64Var(&o.MaxBodyBytes, "max-body-bytes", 32<<20, "largest accepted request body")
	cmd.RunE = runE([]string{"model", "name"}, func(cmd *cobra.Command) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return Serve(ctx, o, cmd.ErrOrStderr())
	})
	return cmd
}

// Serve loads the model and serves it until ctx is done, then shuts down gracefully.
func Serve(ctx context.Context, o *ServeOptions, log io.Writer) error {
	if !modelNameRE.MatchString(o.Name) {
		return fmt.Errorf("invalid --name %q: letters, digits, '.', '_' and '-'", o.Name)
	}
	ref, err := ResolveModel(ctx, o.Model)
	if err != nil {
		return err
	}
	m, data, err := readModel(ctx, ref)
	if err != nil {
		return err
	}
	h := NewServer(m, o.Name, o.MaxBodyBytes)
	h.version = ref.Version
	if h.version == "" {
		h.version = store.Digest(data)
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("error listening on %s: %w", o.Addr, err)
	}
	srv := &http.Server{Handler: LogRequests(h, log, clk), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(log, "serving model %q version %s (%s, classes %v) on %s\n", o.Name, h.version, ref.URI, m.Classes, ln.Addr())
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	h.ready.Store(false)
	if o.DrainDelay > 0 {
		fmt.Fprintf(log, "not ready; draining for %s\n", o.DrainDelay)
		select {
		case err := <-errc:
			return fmt.Errorf("server stopped: %w", err)
		case <-clk.After(o.DrainDelay):
		}
	}
	h.stopping.Store(true)
	fmt.Fprintln(log, "shutting down")
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("error shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Server is the Open Inference Protocol v2 REST handler for one model.
type Server struct {
	model   *ml.Model
	name    string
	maxBody int64
	// version is the one version served (model metadata's versions, /versions/{version}/ paths, responses'
	// model_version): the registry version, else the model.json digest; NewServer leaves it empty (no versions).
	version string
	// ready is what the readiness endpoints report; it turns false when the server is told to stop.
	ready atomic.Bool
	// stopping turns true after the drain, when infer requests are refused.
	stopping atomic.Bool
	mux      *http.ServeMux
	// colIndex maps a raw column name to its position in the schema.
	colIndex map[string]int
}

var _ http.Handler = (*Server)(nil)

// NewServer returns the v2 handler serving m under name; maxBody ≤ 0 means 32 MiB.
func NewServer(m *ml.Model, name string, maxBody int64) *Server {
	if maxBody <= 0 {
		maxBody = 32 << 20
	}
	s := &Server{model: m, name: name, maxBody: maxBody, mux: http.NewServeMux(), colIndex: map[string]int{}}
	for i, c := range m.Schema.Columns {
		s.colIndex[c.Name] = i
	}
	s.ready.Store(true)
	s.route(http.MethodGet, "/v2/health/live", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	s.route(http.MethodGet, "/v2/health/ready", s.handleReady)
	s.route(http.MethodGet, "/v2", s.handleServerMetadata)
	for _, base := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		s.route(http.MethodGet, base, s.withModel(s.handleModelMetadata))
		s.route(http.MethodGet, base+"/ready", s.withModel(s.handleReady))
		s.route(http.MethodPost, base+"/infer", s.withModel(s.handleInfer))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for %s %s", r.Method, r.URL.Path)
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// route serves pattern for method (GET also answers HEAD) and answers any other method with 405 and an Allow
// header.
func (s *Server) route(method, pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(method+" "+pattern, h)
	allow := method
	if method == http.MethodGet {
		allow = "GET, HEAD"
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method %s is not allowed on %s: use %s", r.Method, r.URL.Path, allow)
	})
}

func (s *Server) withModel(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if n := r.PathValue("name"); n != s.name {
			writeError(w, http.StatusNotFound, "model %q is not served here (this server serves %q)", n, s.name)
			return
		}
		if v := r.PathValue("version"); v != "" && v != s.version {
			writeError(w, http.StatusNotFound, "model %q has no version %q here (versions: %s)", s.name, v, ml.QuoteNames(s.versions()))
			return
		}
		h(w, r)
	}
}

// versions is what model metadata lists: the one version served, if known.
func (s *Server) versions() []string {
	if s.version == "" {
		return []string{}
	}
	return []string{s.version}
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

func (s *Server) handleServerMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"name": "mlpipe", "version": codeVersion(), "extensions": []string{}})
}

// TensorMetadata describes one tensor in model metadata.
type TensorMetadata struct {
	// Name is the tensor's name.
	Name string `json:"name"`
	// Datatype is a v2 datatype such as FP64 or BYTES.
	Datatype string `json:"datatype"`
	// Shape is the tensor's shape; -1 is variable.
	Shape []int64 `json:"shape"`
}

func (s *Server) handleModelMetadata(w http.ResponseWriter, _ *http.Request) {
	var inputs []TensorMetadata
	for _, c := range s.model.Schema.Columns {
		dt := "BYTES"
		if c.Type == ml.TypeNumeric {
			dt = "FP64"
		}
		inputs = append(inputs, TensorMetadata{Name: c.Name, Datatype: dt, Shape: []int64{-1}})
	}
	cats := map[string][]string{}
	for _, c := range s.model.Schema.Columns {
		if c.Type == ml.TypeCategorical {
			cats[c.Name] = c.Categories
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":     s.name,
		"versions": s.versions(),
		"platform": "mlpipe-logreg",
		"inputs":   inputs,
		"outputs": []TensorMetadata{
			{Name: "predicted_class", Datatype: "BYTES", Shape: []int64{-1}},
			{Name: "probabilities", Datatype: "FP64", Shape: []int64{-1, int64(len(s.model.Classes))}},
		},
		"parameters": map[string]any{"classes": s.model.Classes, "label": s.model.Schema.Label, "categories": cats},
	})
}

// InferTensor is a v2 request or response tensor.
type InferTensor struct {
	// Name is the tensor's name.
	Name string `json:"name"`
	// Shape is the tensor's shape.
	Shape []int64 `json:"shape"`
	// Datatype is a v2 datatype.
	Datatype string `json:"datatype"`
	// Parameters are optional tensor parameters.
	Parameters map[string]any `json:"parameters,omitempty"`
	// Data holds the values, flat (row-major) or nested.
	Data any `json:"data"`
}

// InferRequest is a v2 inference request.
type InferRequest struct {
	// ID is echoed in the response.
	ID string `json:"id,omitempty"`
	// Parameters are optional request parameters.
	Parameters map[string]any `json:"parameters,omitempty"`
	// Inputs are the input tensors.
	Inputs []InferTensor `json:"inputs"`
	// Outputs optionally selects outputs by name.
	Outputs []struct {
		Name string `json:"name"`
	} `json:"outputs,omitempty"`
}

// InferResponse is a v2 inference response.
type InferResponse struct {
	// ModelName is the served model's name.
	ModelName string `json:"model_name"`
	// ModelVersion is the version served: the registry version, or the model.json digest.
	ModelVersion string `json:"model_version,omitempty"`
	// ID echoes the request's id.
	ID string `json:"id,omitempty"`
	// Parameters holds the class order of the probabilities.
	Parameters map[string]any `json:"parameters,omitempty"`
	// Outputs are the output tensors.
	Outputs []InferTensor `json:"outputs"`
}

var datatypes = map[string]bool{
	"BOOL": true, "UINT8": true, "UINT16": true, "UINT32": true, "UINT64": true, "INT8": true, "INT16": true,
	"INT32": true, "INT64": true, "FP16": true, "FP32": true, "FP64": true, "BYTES": true,
}

// requestError is a client error (HTTP 400).
type requestError struct{ msg string }

// Error implements error.
func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error { return &requestError{fmt.Sprintf(format, args...)} }

func (s *Server) handleInfer(w http.ResponseWriter, r *http.Request) {
	if s.stopping.Load() {
		writeError(w, http.StatusServiceUnavailable, "model %q is shutting down", s.name)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", s.maxBody)
			return
		}
		writeError(w, http.StatusBadRequest, "error reading request body: %v", err)
		return
	}
	resp, err := s.Infer(body)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			writeError(w, http.StatusBadRequest, "%s", re.msg)
			return
		}
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Infer answers one v2 infer request body.
func (s *Server) Infer(body []byte) (*InferResponse, error) {
	var req InferRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest("malformed infer request: %v", err)
	}
	if len(req.Inputs) == 0 {
		return nil, badRequest("infer request has no inputs")
	}
	rows, err := s.rows(req.Inputs)
	if err != nil {
		return nil, err
	}
	m := s.model
	buf := make([][]float64, len(rows))
	for i, row := range rows {
		buf[i] = make([]float64, len(m.Features))
		if err := m.Schema.EncodeRow(row, buf[i]); err != nil {
			return nil, badRequest("row %d: %v", i, err)
		}
	}
	x := ml.DenseFromRows(buf, len(m.Features))
	p := m.PredictProba(x)
	k := len(m.Classes)
	classes := make([]string, len(rows))
	probs := make([]float64, 0, len(rows)*k)
	for i := range rows {
		row := p.RawRowView(i)
		classes[i] = m.Classes[ml.Argmax(row)]
		probs = append(probs, row...)
	}
	outputs := []InferTensor{
		{Name: "predicted_class", Datatype: "BYTES", Shape: []int64{int64(len(rows))}, Data: classes},
		{Name: "probabilities", Datatype: "FP64", Shape: []int64{int64(len(rows)), int64(k)}, Data: probs},
	}
	if len(req.Outputs) > 0 {
		var sel []InferTensor
		for _, o := range req.Outputs {
			i := slices.IndexFunc(outputs, func(t InferTensor) bool { return t.Name == o.Name })
			if i < 0 {
				return nil, badRequest("unknown output %q (outputs: predicted_class, probabilities)", o.Name)
			}
			sel = append(sel, outputs[i])
		}
		outputs = sel
	}
	return &InferResponse{ModelName: s.name, ModelVersion: s.version, ID: req.ID, Parameters: map[string]any{"classes": m.Classes}, Outputs: outputs}, nil
}

// rows turns the input tensors into raw rows aligned with the schema's columns.
func (s *Server) rows(inputs []InferTensor) ([][]string, error) {
	cols := s.model.Schema.Columns
	for _, in := range inputs {
		if !datatypes[in.Datatype] {
			return nil, badRequest("input %q has unsupported datatype %q", in.Name, in.Datatype)
		}
		for _, d := range in.Shape {
			if d < 0 {
				return nil, badRequest("input %q has a negative dimension in shape %v", in.Name, in.Shape)
			}
		}
	}
	// Rows mode: one [N, C] tensor.
	if len(inputs) == 1 && len(inputs[0].Shape) == 2 {
		in := inputs[0]
		if in.Shape[1] != int64(len(cols)) {
			return nil, badRequest("input %q has shape %v: rows must have %d values (columns %s)", in.Name, in.Shape, len(cols), columnNames(cols))
		}
		vals, err := tensorValues(in)
		if err != nil {
			return nil, err
		}
		n := int(in.Shape[0])
		rows := make([][]string, n)
		for i := range rows {
			rows[i] = vals[i*len(cols) : (i+1)*len(cols)]
		}
		return rows, nil
	}
	// Column mode: one [N] tensor per raw column.
	byCol := make([][]string, len(cols))
	n := -1
	for _, in := range inputs {
		j, ok := s.colIndex[in.Name]
		if !ok {
			return nil, badRequest("unknown input %q: inputs are the model's raw columns %s (or one [N, %d] tensor of rows)", in.Name, columnNames(cols), len(cols))
		}
		if byCol[j] != nil {
			return nil, badRequest("input %q given twice", in.Name)
		}
		if len(in.Shape) != 1 && !(len(in.Shape) == 2 && in.Shape[1] == 1) {
			return nil, badRequest("input %q has shape %v: want [N] (one value per row)", in.Name, in.Shape)
		}
		vals, err := tensorValues(in)
		if err != nil {
			return nil, err
		}
		if n >= 0 && len(vals) != n {
			return nil, badRequest("input %q has %d values, other inputs have %d", in.Name, len(vals), n)
		}
		n = len(vals)
		byCol[j] = vals
	}
	var missing []string
	for j, c := range cols {
		if byCol[j] == nil {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) > 0 {
		return nil, badRequest("missing input(s) %s: the model needs every raw column %s", strings.Join(missing, ", "), columnNames(cols))
	}
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = make([]string, len(cols))
		for j := range cols {
			rows[i][j] = byCol[j][i]
		}
	}
	return rows, nil
}

func columnNames(cols []ml.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// tensorValues flattens a tensor's data into strings and checks it against its shape and datatype.
func tensorValues(in InferTensor) ([]string, error) {
	var vals []string
	var walk func(v any) error
	walk = func(v any) error {
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				if err := walk(e); err != nil {
					return err
				}
			}
		case json.Number:
			if in.Datatype == "BYTES" {
				return badRequest("input %q is BYTES but holds the number %s", in.Name, t)
			}
			vals = append(vals, t.String())
		case string:
			if in.Datatype != "BYTES" {
				return badRequest("input %q is %s but holds the string %q", in.Name, in.Datatype, t)
			}
			vals = append(vals, t)
		case bool:
			if in.Datatype != "BOOL" {
				return badRequest("input %q is %s but holds a boolean", in.Name, in.Datatype)
			}
			vals = append(vals, strconv.FormatBool(t))
		case nil:
			return badRequest("input %q has null data", in.Name)
		default:
			return badRequest("input %q holds an unsupported value %v", in.Name, t)
		}
		return nil
	}
	if err := walk(in.Data); err != nil {
		return nil, err
	}
	want := int64(1)
	for _, d := range in.Shape {
		want *= d
	}
	if len(in.Shape) == 0 || int64(len(vals)) != want {
		return nil, badRequest("input %q has %d values but shape %v", in.Name, len(vals), in.Shape)
	}
	return vals, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes a protocol-shaped error: {"error": "..."}, and hands the message to the request log.
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if rec, ok := w.(*loggedResponse); ok {
		rec.err = msg
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// RequestLogLine is one line of the request log, written as JSON.
type RequestLogLine struct {
	// Time is when the request arrived (RFC 3339, UTC).
	Time string `json:"time"`
	// Method and Path are the request's.
	Method string `json:"method"`
	// Path is the URL path.
	Path string `json:"path"`
	// Status is the response status code.
	Status int `json:"status"`
	// Bytes is the size of the response body.
	Bytes int64 `json:"bytes"`
	// DurationMs is how long the handler took, in milliseconds.
	DurationMs float64 `json:"durationMs"`
	// Remote is the client's address.
	Remote string `json:"remote"`
	// Error is the error message of a refused request.
	Error string `json:"error,omitempty"`
}

// LogRequests wraps h so that every request is written to log as one JSON line (RequestLogLine), timed by clk.
func LogRequests(h http.Handler, log io.Writer, clk clock.PassiveClock) http.Handler {
	var mu sync.Mutex
	enc := json.NewEncoder(log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := clk.Now()
		rec := &loggedResponse{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		line := RequestLogLine{
			Time: start.UTC().Format(time.RFC3339Nano), Method: r.Method, Path: r.URL.Path, Status: rec.status,
			Bytes: rec.bytes, DurationMs: float64(clk.Since(start).Microseconds()) / 1000, Remote: r.RemoteAddr, Error: rec.err,
		}
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(line)
	})
}

// loggedResponse records what the request log needs of a response.
type loggedResponse struct {
	http.ResponseWriter
	status int
	bytes  int64
	err    string
}

// WriteHeader implements http.ResponseWriter.
func (l *loggedResponse) WriteHeader(status int) {
	l.status = status
	l.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (l *loggedResponse) Write(b []byte) (int, error) {
	n, err := l.ResponseWriter.Write(b)
	l.bytes += int64(n)
	return n, err
}
