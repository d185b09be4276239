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

// Package cache is mlpipe's task cache: one key derivation and one store layout, used by the local runner
// (pkg/localrun) and by the built-in steps in a Pod (pkg/steps), so that the same inputs give the same key in
// both places. It imports no Tekton package: the lean step binary uses it.
//
// # The key
//
// A key is the hex sha256 of the text
//
//	mlpipe-cache-v2\n
//	<name>=<quoted value>\n      one line per component, in byte order of name
//
// where <quoted value> is Go's strconv.Quote of the value. The components are:
//
//   - "task": the identity of the Task, the digest of its spec as generated, before param substitution and
//     without the cache's own env and params (pkg/cache/taskdigest). The generator passes it to the step as
//     MLPIPE_CACHE_TASK; the local runner reads the same env from the Task, else computes the same digest.
//   - "param:<name>": each param's resolved value (upstream results substituted), with every workspace path
//     replaced by $(workspaces.<name>.path), so a local run folder and /workspace/<name> give the same text.
//     In a local run, its folder outside the workspaces becomes $(mlpipe.run.dir). The cache's own params
//     (cache, cache-skip) are not components.
//   - "input:<name>": for a param whose value names an artifact, what is behind it: a local file or directory
//     (a path or file:// URI) by TreeDigest (every file's relative path and sha256); an s3:// URI by
//     store.Fingerprint (ETag, version and size, or every object under a prefix).
//   - "program:<step>": the step program's identity (ProgramIdentity): for the built-in steps the mlpipe
//     build's vcs.revision plus StepsFormat, shared by the local mlpipe binary and the image's mlpipe-step when
//     both are built from the same commit; when the build has no revision, or was built from a modified tree,
//     the binary's own sha256 — then a local key and a cluster key differ. The local runner fingerprints other
//     programs (interpreters, commands) by their files.
//   - "workspace:<name>": the TreeDigest of a workspace at task start. Only the local runner adds it, and only
//     for tasks that are not built-in steps (a user script may read anything there); the built-in steps name
//     every input in a param, and a workspace digest would depend on what parallel tasks are writing.
//   - "context:<variable>": the value of each $(context.…) variable the Task's spec references (local runner).
//
// # The store
//
// A Cache lives under a store URI (pkg/store: file:// or s3://). Its layout:
//
//	blobs/sha256/<hh>/<hex>                 file contents, content-addressed, written first
//	entries/<kk>/<key>.json                 an Entry: results, the outputs (location, path, digest), where from
//	records/<pipeline>/<task>/<time>-<run>.json   a Record of each decision, for `mlpipe cache explain`
//
// Entries are immutable and written with store.Create (an exclusive put: link(2) on file://, If-None-Match: *
// on s3://), after every blob they name. Two identical tasks that run at the same time both compute; the
// first entry wins and the second's Store reports that it lost (ErrExist is not an error). mlpipe does not
// take a lease: a lease would serialise identical runs behind a holder that may die, and the tasks are
// deterministic, so computing twice costs time, never correctness.
//
// Lookup reads the entry and every blob it names and checks each blob's sha256: a missing or changed blob,
// an entry older than the maximum age, or an unreadable entry is a Miss with a reason, never a wrong result.
// Prune deletes entries older than a maximum age and the blobs no remaining entry names.
package cache
