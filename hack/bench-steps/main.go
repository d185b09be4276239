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

// Command bench-steps measures the built-in steps at data scale, in one run so that its ratios hold on a noisy
// machine: it generates a synthetic CSV (streamed to a temporary directory, removed at the end), times a bare
// encoding/csv read loop over it, runs `mlpipe-step preprocess`, `train` and `evaluate` as processes on the
// local file and on MinIO (wall time, peak RSS from the child's rusage, rows/s; a watchdog kills a step above
// -rss-limit), and compares the train step with scikit-learn on the same encoded rows (hack/bench-steps/
// sklearn_ref.py). It writes a markdown table to -out and stdout. Run it through hack/bench-steps.sh.
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/mlpipe/mlpipe/test/cluster"
)

type options struct {
	rows, refRows     int
	epochs, refEpochs int
	seed              uint64
	rssLimit          int64
	out, tmp, python  string
	minioBin          string
}

func main() {
	o := options{}
	flag.IntVar(&o.rows, "rows", envInt("BENCH_ROWS", 10_000_000), "rows of the generated CSV (env BENCH_ROWS)")
	flag.IntVar(&o.refRows, "ref-rows", envInt("BENCH_REF_ROWS", 1_000_000), "rows (the first ones of the CSV) of the scikit-learn comparison (env BENCH_REF_ROWS)")
	flag.IntVar(&o.epochs, "epochs", envInt("BENCH_EPOCHS", 3), "train epochs of the data-scale runs (env BENCH_EPOCHS)")
	flag.IntVar(&o.refEpochs, "ref-epochs", envInt("BENCH_REF_EPOCHS", 20), "epochs of the scikit-learn comparison (env BENCH_REF_EPOCHS)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated CSV")
	gib := flag.Float64("rss-limit-gib", 4, "watchdog: kill a step whose resident set exceeds this many GiB")
	flag.StringVar(&o.out, "out", "bench/steps.md", "markdown report")
	flag.StringVar(&o.tmp, "tmp", os.Getenv("BENCH_TMPDIR"), "parent of the temporary directory (env BENCH_TMPDIR; default the system's)")
	flag.StringVar(&o.python, "python", defaultPython(), "Python interpreter of sklearn_ref.py (Debian's, which python3-sklearn installs into)")
	flag.StringVar(&o.minioBin, "minio", os.Getenv("MLPIPE_MINIO_BIN"), "MinIO server binary (env MLPIPE_MINIO_BIN; empty: skip the MinIO runs)")
	flag.Parse()
	o.rssLimit = int64(*gib * (1 << 30))
	if o.refRows > o.rows {
		o.refRows = o.rows
	}
	if o.refEpochs < 2 {
		fmt.Fprintln(os.Stderr, "bench-steps: -ref-epochs must be at least 2 (the time per epoch is measured between epochs)")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-steps:", err)
		os.Exit(1)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// pipeline is one preprocess → train → evaluate run.
type pipeline struct {
	store              string
	pre, train, eval   *stepRun
	counts             splitCounts
	epochs             int
	skipped            string
	accuracy           float64
	uploadMBs, csvSize float64
}

// report is everything the markdown table shows.
type report struct {
	o                  options
	started            time.Time
	binSize            int64
	csvBytes, refBytes int64
	genTime            time.Duration
	csvLoop            []float64 // MB/s of each bare read loop
	local, s3          *pipeline
	ref                *reference
}

func run(o options) error {
	tmp, err := os.MkdirTemp(o.tmp, "bench-steps-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		os.RemoveAll(tmp)
		os.Exit(130)
	}()
	log := os.Stderr
	r := &report{o: o, started: time.Now()}

	step := filepath.Join(tmp, "mlpipe-step")
	fmt.Fprintln(log, "== building cmd/mlpipe-step")
	if out, err := exec.Command("go", "build", "-trimpath", "-o", step, "./cmd/mlpipe-step").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/mlpipe-step: %w\n%s", err, out)
	}
	if fi, err := os.Stat(step); err == nil {
		r.binSize = fi.Size()
	}

	data, refData := filepath.Join(tmp, "data.csv"), filepath.Join(tmp, "ref.csv")
	fmt.Fprintf(log, "== generating %d rows (the first %d also into the reference CSV)\n", o.rows, o.refRows)
	if r.genTime, err = generateFiles(o, data, refData); err != nil {
		return err
	}
	r.csvBytes, r.refBytes = fileSize(data), fileSize(refData)

	settle()
	r.csvLoop = append(r.csvLoop, csvReadLoop(data, log))
	r.local = runPipeline(pipelineRun{
		o: o, name: "local file", step: step, log: log, results: filepath.Join(tmp, "results-local"),
		data: data, dataset: filepath.Join(tmp, "local", "dataset"), model: filepath.Join(tmp, "local", "model"),
		metrics: filepath.Join(tmp, "local", "eval"),
		schema:  func() ([]byte, error) { return os.ReadFile(filepath.Join(tmp, "local", "dataset", "schema.json")) },
	})
	settle()
	r.csvLoop = append(r.csvLoop, csvReadLoop(data, log))
	r.s3 = runMinIO(o, step, data, tmp, log)

	r.ref = runReference(o, step, refData, tmp, log)

	md := r.markdown()
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// generateFiles writes o.rows rows to data and the first o.refRows of them to ref.
func generateFiles(o options, data, ref string) (time.Duration, error) {
	start := time.Now()
	df, err := os.Create(data)
	if err != nil {
		return 0, err
	}
	defer df.Close()
	rf, err := os.Create(ref)
	if err != nil {
		return 0, err
	}
	defer rf.Close()
	if err := generate(o.rows, o.seed, []io.Writer{df, rf}, []int{-1, o.refRows}); err != nil {
		return 0, fmt.Errorf("error generating %s: %w", data, err)
	}
	if err := df.Close(); err != nil {
		return 0, err
	}
	return time.Since(start), rf.Close()
}

// csvReadLoop reads every record of path with encoding/csv (ReuseRecord, nothing else done with them) and
// returns the throughput in MB/s of the file's size.
func csvReadLoop(path string, log io.Writer) float64 {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(log, "csv read loop:", err)
		return 0
	}
	defer f.Close()
	start := time.Now()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(log, "csv read loop:", err)
			return 0
		}
		n++
	}
	mbs := float64(fileSize(path)) / 1e6 / time.Since(start).Seconds()
	fmt.Fprintf(log, "== bare encoding/csv read loop: %d records, %.1f MB/s\n", n, mbs)
	return mbs
}

// pipelineRun says where one preprocess → train → evaluate run reads and writes.
type pipelineRun struct {
	o                             options
	name, step                    string
	log                           io.Writer
	env                           []string
	results                       string
	data, dataset, model, metrics string
	schema                        func() ([]byte, error)
}

// settle writes the page cache's dirty pages to disk (sync(2)) before a measurement, so that the writeback of
// what the benchmark or the step before wrote (the generated CSV is 1.7 GB) does not throttle the measured
// step's own writes.
func settle() { syscall.Sync() }

func runPipeline(pr pipelineRun) *pipeline {
	p := &pipeline{store: pr.name, epochs: pr.o.epochs}
	fmt.Fprintf(pr.log, "== preprocess, train (%d epochs), evaluate on the %s\n", pr.o.epochs, pr.name)
	settle()
	p.pre = runStep("preprocess", pr.step, preprocessArgs(pr.data, pr.dataset, filepath.Join(pr.results, "preprocess")), pr.env, pr.o.rssLimit, pr.log)
	if p.pre.Err != nil {
		return p
	}
	raw, err := pr.schema()
	if err == nil {
		p.counts, err = readCounts(raw)
	}
	if err != nil {
		p.pre.Err = fmt.Errorf("error reading the dataset's schema.json: %w", err)
		return p
	}
	flags, _ := trainFlags("auto", pr.o.epochs)
	settle()
	p.train = runStep("train", pr.step, trainArgs(pr.dataset, pr.model, filepath.Join(pr.results, "train"), flags), pr.env, pr.o.rssLimit, pr.log)
	if p.train.Err != nil {
		return p
	}
	if n := len(p.train.EpochTimes); n > 0 {
		p.epochs = n
	}
	settle()
	p.eval = runStep("evaluate", pr.step, evaluateArgs(pr.dataset, pr.model, pr.metrics, filepath.Join(pr.results, "evaluate")), pr.env, pr.o.rssLimit, pr.log)
	return p
}

func preprocessArgs(data, out, results string) []string {
	return []string{"preprocess", "--data", data, "--label", labelColumn, "--out", out, "--results-dir", results}
}

func trainArgs(dataset, out, results string, flags []string) []string {
	return append([]string{"train", "--dataset", dataset, "--out", out, "--results-dir", results}, flags...)
}

func evaluateArgs(dataset, model, out, results string) []string {
	// Threshold 0: the gate passes, so that the step exits 0 whatever the accuracy.
	return []string{"evaluate", "--dataset", dataset, "--model", model, "--out", out, "--threshold", "0", "--results-dir", results}
}

// runMinIO runs the pipeline on a MinIO server started from the tool cache, with the CSV uploaded to it.
func runMinIO(o options, step, data, tmp string, log io.Writer) *pipeline {
	p := &pipeline{store: "MinIO (s3://)"}
	if o.minioBin == "" {
		p.skipped = "MLPIPE_MINIO_BIN is not set (run through hack/bench-steps.sh, which takes it from hack/tools-env.sh)"
		return p
	}
	if _, err := os.Stat(o.minioBin); err != nil {
		p.skipped = fmt.Sprintf("no MinIO binary: %v (hack/build-tools.sh builds it)", err)
		return p
	}
	m, stop, err := cluster.RunMinIO(o.minioBin, "127.0.0.1", 0, filepath.Join(tmp, "minio"), nil)
	if err != nil {
		p.skipped = fmt.Sprintf("MinIO did not start: %v", err)
		return p
	}
	defer stop()
	ctx := context.Background()
	const bucket = "bench"
	if err := m.Client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: cluster.MinIORegion}); err != nil {
		p.skipped = fmt.Sprintf("error creating bucket %s: %v", bucket, err)
		return p
	}
	fmt.Fprintln(log, "== uploading the CSV to MinIO")
	start := time.Now()
	if _, err := m.Client.FPutObject(ctx, bucket, "raw/data.csv", data, minio.PutObjectOptions{}); err != nil {
		p.skipped = fmt.Sprintf("error uploading %s: %v", data, err)
		return p
	}
	upload := time.Since(start)
	env := []string{"AWS_ENDPOINT_URL_S3=" + m.Endpoint, "AWS_ENDPOINT_URL=" + m.Endpoint,
		"AWS_ACCESS_KEY_ID=" + cluster.MinIOUser, "AWS_SECRET_ACCESS_KEY=" + cluster.MinIOPassword,
		"AWS_SESSION_TOKEN=", "AWS_REGION=" + cluster.MinIORegion}
	s3 := "s3://" + bucket + "/"
	p = runPipeline(pipelineRun{
		o: o, name: p.store, step: step, log: log, env: env, results: filepath.Join(tmp, "results-s3"),
		data: s3 + "raw/data.csv", dataset: s3 + "dataset", model: s3 + "model", metrics: s3 + "eval",
		schema: func() ([]byte, error) {
			obj, err := m.Client.GetObject(ctx, bucket, "dataset/schema.json", minio.GetObjectOptions{})
			if err != nil {
				return nil, err
			}
			defer obj.Close()
			return io.ReadAll(obj)
		},
	})
	p.uploadMBs = float64(fileSize(data)) / 1e6 / upload.Seconds()
	return p
}

// reference is the comparison of the train step with scikit-learn on the same encoded rows.
type reference struct {
	pre                  *stepRun
	counts               splitCounts
	features             int
	trainers             []refTrainer
	sklearn              *sklearnResult
	skipped, sklearnSkip string
}

// refTrainer is one train step run of the comparison.
type refTrainer struct {
	optimizer string
	train     *stepRun
	accuracy  float64
	skipped   string
}

// sklearnResult is what sklearn_ref.py writes.
type sklearnResult struct {
	Skipped string `json:"skipped"`
	Version string `json:"sklearn"`
	SGD     struct {
		Epochs     int     `json:"epochs"`
		FitSeconds float64 `json:"fit_seconds"`
		CPUSeconds float64 `json:"cpu_seconds"`
		Accuracy   float64 `json:"accuracy"`
	} `json:"sgd"`
	LBFGS struct {
		FitSeconds float64 `json:"fit_seconds"`
		CPUSeconds float64 `json:"cpu_seconds"`
		Iterations int     `json:"n_iter"`
		Accuracy   float64 `json:"accuracy"`
	} `json:"lbfgs"`
}

// runReference preprocesses the reference CSV, exports its encoded split to .npy, trains on it with the train
// step (each optimizer trainFlags supports) and with scikit-learn, and scores each on the test split.
func runReference(o options, step, refData, tmp string, log io.Writer) *reference {
	ref := &reference{}
	dir := filepath.Join(tmp, "ref")
	dataset := filepath.Join(dir, "dataset")
	fmt.Fprintf(log, "== reference: preprocess the first %d rows\n", o.refRows)
	ref.pre = runStep("preprocess", step, preprocessArgs(refData, dataset, filepath.Join(dir, "results", "preprocess")), nil, o.rssLimit, log)
	if ref.pre.Err != nil {
		ref.skipped = ref.pre.Err.Error()
		return ref
	}
	raw, err := os.ReadFile(filepath.Join(dataset, "schema.json"))
	if err == nil {
		ref.counts, err = readCounts(raw)
	}
	if err != nil {
		ref.skipped = err.Error()
		return ref
	}
	npyDir := filepath.Join(dir, "npy")
	if ref.features, err = exportNpy(dataset, npyDir); err != nil {
		ref.skipped = fmt.Sprintf("error exporting the split to .npy: %v", err)
		return ref
	}
	for _, opt := range []string{"sgd", "lbfgs"} {
		t := refTrainer{optimizer: opt}
		flags, ok := trainFlags(opt, o.refEpochs)
		if !ok {
			t.skipped = "the train step has no flag that selects " + opt + " at this commit"
			ref.trainers = append(ref.trainers, t)
			continue
		}
		model, metrics := filepath.Join(dir, "model-"+opt), filepath.Join(dir, "eval-"+opt)
		fmt.Fprintf(log, "== reference: train (%s, %d epochs) and evaluate\n", opt, o.refEpochs)
		t.train = runStep("train", step, trainArgs(dataset, model, filepath.Join(dir, "results", "train-"+opt), flags), nil, o.rssLimit, log)
		if t.train.Err == nil {
			ev := runStep("evaluate", step, evaluateArgs(dataset, model, metrics, filepath.Join(dir, "results", "evaluate-"+opt)), nil, o.rssLimit, log)
			if ev.Err != nil {
				t.skipped = ev.Err.Error()
			} else if t.accuracy, err = readAccuracy(filepath.Join(metrics, "metrics.json")); err != nil {
				t.skipped = err.Error()
			}
		} else {
			t.skipped = t.train.Err.Error()
		}
		ref.trainers = append(ref.trainers, t)
	}
	ref.sklearn, ref.sklearnSkip = runSklearn(o, npyDir, dir, log)
	return ref
}

// exportNpy writes the dataset's encoded splits as X_train.npy, y_train.npy, X_test.npy and y_test.npy into
// dir, and returns the number of features.
func exportNpy(dataset, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	features := 0
	for _, split := range []string{"train", "test"} {
		var xw, yw *npyWriter
		err := eachSplitRow(dataset, split, func(x []float64, class int) error {
			if xw == nil {
				var err error
				features = len(x)
				if xw, err = createNpy(filepath.Join(dir, "X_"+split+".npy"), len(x)); err != nil {
					return err
				}
				if yw, err = createNpy(filepath.Join(dir, "y_"+split+".npy"), 0); err != nil {
					return err
				}
			}
			if err := xw.row(x); err != nil {
				return err
			}
			return yw.int(int64(class))
		})
		if xw == nil && err == nil {
			err = fmt.Errorf("the %s split has no rows", split)
		}
		for _, w := range []*npyWriter{xw, yw} {
			if w != nil {
				if cerr := w.close(); err == nil {
					err = cerr
				}
			}
		}
		if err != nil {
			return 0, err
		}
	}
	return features, nil
}

func readAccuracy(path string) (float64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var m struct {
		Accuracy *float64 `json:"accuracy"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Accuracy == nil {
		return 0, fmt.Errorf("%s has no accuracy (%v)", path, err)
	}
	return *m.Accuracy, nil
}

// runSklearn runs sklearn_ref.py on the .npy files; it returns the result or why there is none.
func runSklearn(o options, npyDir, dir string, log io.Writer) (*sklearnResult, string) {
	out := filepath.Join(dir, "sklearn.json")
	fmt.Fprintf(log, "== reference: scikit-learn (%s)\n", o.python)
	sr := runStep("sklearn", o.python, []string{"-u", "hack/bench-steps/sklearn_ref.py", "--dir", npyDir,
		"--epochs", strconv.Itoa(o.refEpochs), "--out", out}, nil, o.rssLimit, log)
	if sr.Err != nil {
		return nil, sr.Err.Error()
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, err.Error()
	}
	res := &sklearnResult{}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, fmt.Sprintf("%s: %v", out, err)
	}
	if res.Skipped != "" {
		return nil, res.Skipped
	}
	return res, ""
}

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	o := r.o
	mb := func(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }
	fmt.Fprintf(&b, "# Built-in steps at data scale\n\n")
	fmt.Fprintf(&b, "%s, %d cores, %s, one run of hack/bench-steps.sh (ratios in one run beat absolute times on this "+
		"shared machine). Data: %s rows, 20 features (14 numeric, 6 categorical), 3 classes, CSV %s, generated in %.1f s. "+
		"Peak RSS is the step process's ru_maxrss; a watchdog kills a step above %s. Dirty pages are synced to disk "+
		"before each measured loop and step, so that the writeback of the generated CSV does not throttle a step's writes.\n\n",
		r.started.UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.Version(), thousands(o.rows), mb(r.csvBytes),
		r.genTime.Seconds(), formatBytes(o.rssLimit))

	loop := mean(r.csvLoop)
	b.WriteString("| measure | value | target |\n| --- | ---: | --- |\n")
	fmt.Fprintf(&b, "| bare encoding/csv read loop (ReuseRecord; mean of a run before and after the local preprocess) | %.1f MB/s | |\n", loop)
	if pre := r.local.pre; pre.Err == nil && loop > 0 {
		mbs := float64(r.csvBytes) / 1e6 / pre.Wall.Seconds()
		fmt.Fprintf(&b, "| preprocess, local file (CSV size / wall time) | %.1f MB/s | |\n", mbs)
		fmt.Fprintf(&b, "| preprocess / csv read loop | %.2f | ≥ 0.5 %s |\n", mbs/loop, check(mbs/loop >= 0.5))
	} else {
		fmt.Fprintf(&b, "| preprocess / csv read loop | not measured: %s | ≥ 0.5 ✗ |\n", cell(errString(pre.Err)))
	}
	fmt.Fprintf(&b, "| mlpipe-step binary (go build -trimpath) | %.1f MB | reported |\n\n", float64(r.binSize)/1e6)

	fmt.Fprintf(&b, "### preprocess, train (%d epochs of the default optimizer), evaluate as processes\n\n", o.epochs)
	b.WriteString("| store | step | wall | peak RSS | rows/s | < 512 MiB |\n| --- | --- | ---: | ---: | ---: | --- |\n")
	for _, p := range []*pipeline{r.local, r.s3} {
		p.rows(&b)
	}
	if r.s3.uploadMBs > 0 {
		fmt.Fprintf(&b, "\nUpload of the CSV to MinIO (minio-go FPutObject): %.0f MB/s.\n", r.s3.uploadMBs)
	}

	r.ref.markdown(&b, o)
	return b.String()
}

// rows writes the pipeline's table rows.
func (p *pipeline) rows(b *strings.Builder) {
	if p.skipped != "" {
		fmt.Fprintf(b, "| %s | all | skipped: %s | | | |\n", p.store, cell(p.skipped))
		return
	}
	steps := []struct {
		name string
		run  *stepRun
		rows int
	}{
		{"preprocess", p.pre, p.counts.Input},
		{"train", p.train, p.counts.Train * p.epochs},
		{"evaluate", p.eval, p.counts.Test},
	}
	for i, s := range steps {
		if s.run == nil {
			fmt.Fprintf(b, "| %s | %s | not run: %s failed | | | |\n", p.store, s.name, steps[i-1].name)
			continue
		}
		rss := formatBytes(s.run.PeakRSS)
		if s.run.Err != nil {
			if s.run.KilledAtRSS > 0 {
				fmt.Fprintf(b, "| %s | %s | killed at %s RSS after %.1f s | %s | | ✗ |\n", p.store, s.name, formatBytes(s.run.KilledAtRSS), s.run.Wall.Seconds(), rss)
			} else {
				fmt.Fprintf(b, "| %s | %s | failed after %.1f s: %s | %s | | ✗ |\n", p.store, s.name, s.run.Wall.Seconds(), cell(firstLine(s.run.Err)), rss)
			}
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %.1f s | %s | %s | %s |\n", p.store, s.name, s.run.Wall.Seconds(), rss,
			thousands(int(float64(s.rows)/s.run.Wall.Seconds())), check(s.run.PeakRSS < 512<<20))
	}
}

func (ref *reference) markdown(b *strings.Builder, o options) {
	fmt.Fprintf(b, "\n### train vs scikit-learn on the same encoded rows (the first %s rows of the CSV, %d epochs)\n\n", thousands(o.refRows), o.refEpochs)
	if ref.skipped != "" {
		fmt.Fprintf(b, "Not run: %s\n", cell(ref.skipped))
		return
	}
	fmt.Fprintf(b, "%s training and %s test rows, %d encoded features, exported to .npy through the steps' split format. "+
		"mlpipe's time per epoch is taken between its first and last epoch log lines (reading the split and writing "+
		"the model excluded), its CPU time per epoch from the first epoch line to the process's end; scikit-learn's "+
		"are fit() / epochs on arrays already in memory (wall and process_time). CPU time varies less than wall "+
		"time on a shared machine.\n\n",
		thousands(ref.counts.Train), thousands(ref.counts.Test), ref.features)
	b.WriteString("| trainer | time per epoch | CPU per epoch | fit / process wall | peak RSS | test accuracy |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	var ourSGD *refTrainer
	for i := range ref.trainers {
		t := &ref.trainers[i]
		name := "mlpipe-step train --optimizer " + t.optimizer
		if t.optimizer == "sgd" {
			name = "mlpipe-step train (mini-batch gradient descent)"
		}
		if t.skipped != "" {
			fmt.Fprintf(b, "| %s | n/a: %s | | | | |\n", name, cell(firstLineString(t.skipped)))
			continue
		}
		pe, ok := t.train.perEpoch()
		pes, pcs := "n/a (no epoch log lines)", "n/a"
		if ok {
			pes = fmt.Sprintf("%.3f s", pe.Seconds())
		}
		if pc, ok := t.train.perEpochCPU(); ok {
			pcs = fmt.Sprintf("%.3f s", pc.Seconds())
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.2f s (process) | %s | %.4f |\n", name, pes, pcs, t.train.Wall.Seconds(), formatBytes(t.train.PeakRSS), t.accuracy)
		if t.optimizer == "sgd" && ok {
			ourSGD = t
		}
	}
	if ref.sklearn == nil {
		fmt.Fprintf(b, "| scikit-learn | skipped: %s | | | | |\n", cell(firstLineString(ref.sklearnSkip)))
		return
	}
	s := ref.sklearn
	sgdEpoch, sgdCPU := s.SGD.FitSeconds/float64(s.SGD.Epochs), s.SGD.CPUSeconds/float64(s.SGD.Epochs)
	fmt.Fprintf(b, "| scikit-learn %s SGDClassifier(loss=\"log_loss\", max_iter=%d, tol=None) | %.3f s | %.3f s | %.2f s (fit) | | %.4f |\n",
		s.Version, s.SGD.Epochs, sgdEpoch, sgdCPU, s.SGD.FitSeconds, s.SGD.Accuracy)
	fmt.Fprintf(b, "| scikit-learn %s LogisticRegression(solver=\"lbfgs\") | | | %.2f s (fit, %.2f s CPU, %d iterations) | | %.4f |\n\n",
		s.Version, s.LBFGS.FitSeconds, s.LBFGS.CPUSeconds, s.LBFGS.Iterations, s.LBFGS.Accuracy)
	b.WriteString("| ratio | value | target |\n| --- | ---: | --- |\n")
	if ourSGD != nil {
		pe, _ := ourSGD.train.perEpoch()
		ratio := pe.Seconds() / sgdEpoch
		fmt.Fprintf(b, "| mlpipe train / SGDClassifier, time per epoch | %.2f | ≤ 1.0 %s |\n", ratio, check(ratio <= 1.0))
		if pc, ok := ourSGD.train.perEpochCPU(); ok && sgdCPU > 0 {
			ratio := pc.Seconds() / sgdCPU
			fmt.Fprintf(b, "| mlpipe train / SGDClassifier, CPU time per epoch | %.2f | ≤ 1.0 %s |\n", ratio, check(ratio <= 1.0))
		}
	}
	for _, t := range ref.trainers {
		if t.skipped != "" {
			continue
		}
		d := t.accuracy - s.LBFGS.Accuracy
		fmt.Fprintf(b, "| mlpipe train (%s) accuracy − LogisticRegression(lbfgs) accuracy | %+.4f | ≥ −0.005 %s |\n", t.optimizer, d, check(d >= -0.005))
	}
}

func mean(xs []float64) float64 {
	var s float64
	n := 0
	for _, x := range xs {
		if x > 0 {
			s += x
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

func check(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func errString(err error) string {
	if err == nil {
		return "no measurement"
	}
	return firstLine(err)
}

func firstLine(err error) string { return firstLineString(err.Error()) }

func firstLineString(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// thousands renders n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
