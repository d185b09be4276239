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

package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"

	"github.com/mlpipe/mlpipe/pkg/store"
	"github.com/mlpipe/mlpipe/pkg/store/storetest"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// Keys used in the tests: any 64 hex digits.
const (
	keyA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	keyB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func testFiles() []File {
	return []File{
		{Output: Output{Location: "$(workspaces.artifacts.path)/model", Path: "model.json"}, Data: []byte(`{"w":[1,2]}`)},
		{Output: Output{Location: "$(workspaces.artifacts.path)/model", Path: "sub/notes.txt"}, Data: []byte("trained\n")},
	}
}

// suite runs the store tests against a store URI; newStore returns a fresh one per test.
func suite(t *testing.T, newStore func(t *testing.T) string) {
	open := func(t *testing.T, uri string, maxAge time.Duration, clk *testclock.FakePassiveClock) *Cache {
		t.Helper()
		c, err := Open(context.Background(), uri, maxAge, clk)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()

	t.Run("store then lookup restores files and results", func(t *testing.T) {
		clk := testclock.NewFakePassiveClock(t0)
		c := open(t, newStore(t), 0, clk)
		stored, err := c.Store(ctx, Entry{Key: keyA, Run: "run-1", Task: "train", Results: map[string]string{"model-uri": "$(workspaces.artifacts.path)/model"}}, testFiles())
		if err != nil || !stored {
			t.Fatalf("Store = %v, %v", stored, err)
		}
		e, files, err := c.Lookup(ctx, keyA)
		if err != nil {
			t.Fatal(err)
		}
		if e.From() != "run-1/train" || e.Results["model-uri"] != "$(workspaces.artifacts.path)/model" || !e.Created.Equal(t0) {
			t.Errorf("entry = %+v", e)
		}
		ws := t.TempDir()
		if err := Restore(ctx, files, map[string]string{"artifacts": ws}); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]string{"model/model.json": `{"w":[1,2]}`, "model/sub/notes.txt": "trained\n"} {
			if b, err := os.ReadFile(filepath.Join(ws, path)); err != nil || string(b) != want {
				t.Errorf("restored %s = %q, %v; want %q", path, b, err, want)
			}
		}
	})

	t.Run("entries are immutable: the first writer wins", func(t *testing.T) {
		c := open(t, newStore(t), 0, testclock.NewFakePassiveClock(t0))
		if _, err := c.Store(ctx, Entry{Key: keyA, Run: "first", Results: map[string]string{"r": "1"}}, nil); err != nil {
			t.Fatal(err)
		}
		stored, err := c.Store(ctx, Entry{Key: keyA, Run: "second", Results: map[string]string{"r": "2"}}, nil)
		if err != nil || stored {
			t.Fatalf("second Store = %v, %v; want false, nil", stored, err)
		}
		if e, _, err := c.Lookup(ctx, keyA); err != nil || e.Run != "first" || e.Results["r"] != "1" {
			t.Errorf("Lookup = %+v, %v; want the first entry", e, err)
		}
	})

	t.Run("concurrent identical stores: exactly one wins", func(t *testing.T) {
		c := open(t, newStore(t), 0, testclock.NewFakePassiveClock(t0))
		const n = 8
		var wg sync.WaitGroup
		wins := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run := "run-" + string(rune('a'+i))
				stored, err := c.Store(ctx, Entry{Key: keyB, Run: run}, testFiles())
				if err != nil {
					t.Error(err)
				}
				if stored {
					wins <- run
				}
			}()
		}
		wg.Wait()
		close(wins)
		var won []string
		for w := range wins {
			won = append(won, w)
		}
		if len(won) != 1 {
			t.Fatalf("%d winners (%v), want 1", len(won), won)
		}
		if e, _, err := c.Lookup(ctx, keyB); err != nil || e.Run != won[0] {
			t.Errorf("Lookup = %+v, %v; want the winner %s", e, err, won[0])
		}
	})

	t.Run("a blob deleted or changed behind mlpipe's back is a miss", func(t *testing.T) {
		uri := newStore(t)
		c := open(t, uri, 0, testclock.NewFakePassiveClock(t0))
		if _, err := c.Store(ctx, Entry{Key: keyA}, testFiles()); err != nil {
			t.Fatal(err)
		}
		raw, err := store.Open(ctx, uri)
		if err != nil {
			t.Fatal(err)
		}
		blob := blobKey(sha([]byte("trained\n")))
		if err := raw.Put(ctx, blob, []byte("tampered\n")); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Lookup(ctx, keyA)
		if reason, ok := IsMiss(err); !ok || !strings.Contains(reason, "model/sub/notes.txt") || !strings.Contains(reason, "changed") {
			t.Errorf("Lookup after a changed blob = %v, want a miss naming the file as changed", err)
		}
		if err := raw.Delete(ctx, blob); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Lookup(ctx, keyA)
		if reason, ok := IsMiss(err); !ok || !strings.Contains(reason, "is gone from the store") {
			t.Errorf("Lookup after a deleted blob = %v, want a miss saying it is gone", err)
		}
	})

	t.Run("no entry is a miss", func(t *testing.T) {
		c := open(t, newStore(t), 0, testclock.NewFakePassiveClock(t0))
		if reason, ok := IsMiss(func() error { _, _, err := c.Lookup(ctx, keyA); return err }()); !ok || !strings.Contains(reason, "no entry") {
			t.Errorf("Lookup on an empty cache: %q, %v", reason, ok)
		}
	})

	t.Run("max age and prune", func(t *testing.T) {
		uri := newStore(t)
		clk := testclock.NewFakePassiveClock(t0)
		c := open(t, uri, 24*time.Hour, clk)
		if _, err := c.Store(ctx, Entry{Key: keyA}, testFiles()[:1]); err != nil {
			t.Fatal(err)
		}
		if err := c.Record(ctx, Record{Pipeline: "churn", Task: "train", Run: "run-1", Decision: Miss, Key: keyA}); err != nil {
			t.Fatal(err)
		}
		clk.SetTime(t0.Add(20 * time.Hour))
		if _, err := c.Store(ctx, Entry{Key: keyB}, testFiles()[1:]); err != nil {
			t.Fatal(err)
		}
		if err := c.Record(ctx, Record{Pipeline: "churn", Task: "train", Run: "run-2", Decision: Hit, Key: keyA}); err != nil {
			t.Fatal(err)
		}
		clk.SetTime(t0.Add(25 * time.Hour))
		if reason, ok := IsMiss(func() error { _, _, err := c.Lookup(ctx, keyA); return err }()); !ok || !strings.Contains(reason, "older than the max age 24h0m0s") {
			t.Errorf("Lookup of a 25h old entry: %q, %v; want a max-age miss", reason, ok)
		}
		if _, _, err := c.Lookup(ctx, keyB); err != nil {
			t.Errorf("Lookup of a 5h old entry: %v", err)
		}
		res, err := c.Prune(ctx, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if want := (PruneResult{Entries: 1, Blobs: 1, Records: 1, KeptEntries: 1, KeptBlobs: 1}); res != want {
			t.Errorf("Prune = %+v, want %+v", res, want)
		}
		if _, _, err := c.Lookup(ctx, keyB); err != nil {
			t.Errorf("Lookup of the kept entry after Prune: %v", err)
		}
		recs, err := c.Records(ctx, "churn", "train")
		if err != nil || len(recs) != 1 || recs[0].Run != "run-2" {
			t.Errorf("Records after Prune = %+v, %v; want only run-2's", recs, err)
		}
	})

	t.Run("records come back oldest first", func(t *testing.T) {
		clk := testclock.NewFakePassiveClock(t0)
		c := open(t, newStore(t), 0, clk)
		for i, run := range []string{"r1", "r2", "r3"} {
			clk.SetTime(t0.Add(time.Duration(i) * time.Minute))
			if err := c.Record(ctx, Record{Pipeline: "churn", Task: "train", Run: run, Decision: Miss}); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := c.Records(ctx, "churn", "train")
		if err != nil || len(recs) != 3 || recs[0].Run != "r1" || recs[2].Run != "r3" {
			t.Errorf("Records = %+v, %v", recs, err)
		}
		if other, err := c.Records(ctx, "churn", "evaluate"); err != nil || len(other) != 0 {
			t.Errorf("Records of another task = %+v, %v", other, err)
		}
	})
}

func TestCacheFileStore(t *testing.T) {
	suite(t, func(t *testing.T) string { return "file://" + t.TempDir() })
}

func TestCacheMinIO(t *testing.T) {
	m := storetest.Start(t)
	m.SetEnv(t)
	n := 0
	suite(t, func(t *testing.T) string {
		n++
		bucket := "cache-" + string(rune('a'+n))
		m.MakeBucket(t, bucket)
		return "s3://" + bucket + "/cache"
	})
}

func TestCollectLocal(t *testing.T) {
	ws := t.TempDir()
	write(t, filepath.Join(ws, "dataset", "train.csv"), "x")
	write(t, filepath.Join(ws, "dataset", "schema.json"), "{}")
	files, err := Collect(context.Background(), filepath.Join(ws, "dataset"), map[string]string{"artifacts": ws})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Location+" "+f.Path+" "+string(f.Data))
	}
	want := "$(workspaces.artifacts.path)/dataset schema.json {}|$(workspaces.artifacts.path)/dataset train.csv x"
	if strings.Join(got, "|") != want {
		t.Errorf("Collect = %q, want %q", strings.Join(got, "|"), want)
	}
	if files, err := Collect(context.Background(), filepath.Join(ws, "absent"), nil); err != nil || len(files) != 0 {
		t.Errorf("Collect of a missing dir = %v, %v", files, err)
	}
}

func TestCollectRefusesOutputsOverTheLimit(t *testing.T) {
	ws := t.TempDir()
	write(t, filepath.Join(ws, "dataset", "schema.json"), "{}")
	big, err := os.Create(filepath.Join(ws, "dataset", "train.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file of 256 MiB + 1 byte: over the limit without writing it.
	if err := big.Truncate(256<<20 + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()
	_, err = Collect(context.Background(), filepath.Join(ws, "dataset"), nil)
	if err == nil || !strings.Contains(err.Error(), "outputs of 256 MiB exceed the 256 MiB an entry may hold") {
		t.Fatalf("Collect of 256 MiB + 3 bytes: got %v, want the limit's error", err)
	}
}

func TestLookupInvalidKey(t *testing.T) {
	c := New(nil, 0, testclock.NewFakePassiveClock(t0))
	if _, _, err := c.Lookup(context.Background(), "../x"); err == nil {
		t.Fatal("Lookup accepted an invalid key")
	} else if _, ok := IsMiss(err); ok || errors.Is(err, store.ErrNotExist) {
		t.Errorf("an invalid key is an error, not a miss: %v", err)
	}
}
