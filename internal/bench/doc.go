// Package bench holds genscope's end-to-end benchmarks, run as commands
// ("genscope bench ingest", "genscope bench query"). Each prints its
// figures next to a baseline measured in the same run, because the
// machines they run on are shared and absolute numbers drift.
package bench
