// replica runs the workload of `etcdctl check perf` (etcd 3.4: one producer paced by a
// rate.Limiter with burst 1 feeding a channel that N clients, one connection each, drain with
// puts of 256-byte random keys and 1 KiB values) and says which side held it back: the average
// channel length the producer sees (0 means the clients were idle, waiting for the producer) and
// the puts' own latency, which check perf does not print.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand"
	"sort"
	"sync"
	"time"

	v3 "go.etcd.io/etcd/clientv3"
	"golang.org/x/time/rate"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "one client endpoint")
	seconds := flag.Int("seconds", 20, "how long the producer runs (check perf: 60)")
	clients := flag.Int("clients", 500, "clients, one connection each (check perf --load=l: 500)")
	limit := flag.Int("limit", 8000, "puts/s the producer aims at (check perf --load=l: 8000)")
	flag.Parse()

	conns := make([]*v3.Client, *clients)
	for i := range conns {
		c, err := v3.New(v3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
		if err != nil {
			log.Fatal(err)
		}
		conns[i] = c
	}
	requests := make(chan v3.Op, *clients)
	var mu sync.Mutex
	latencies := make([]float64, 0, *limit**seconds)
	errors := 0
	var wg sync.WaitGroup
	wg.Add(len(conns))
	start := time.Now()
	for _, c := range conns {
		go func(c *v3.Client) {
			defer wg.Done()
			for op := range requests {
				st := time.Now()
				_, err := c.Do(context.Background(), op)
				d := time.Since(st).Seconds()
				mu.Lock()
				latencies = append(latencies, d)
				if err != nil {
					errors++
				}
				mu.Unlock()
			}
		}(c)
	}
	var queued, produced int
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*seconds)*time.Second)
		defer cancel()
		limiter := rate.NewLimiter(rate.Limit(*limit), 1)
		key, value := make([]byte, 256), string(make([]byte, 1024))
		for limiter.Wait(ctx) == nil {
			binary.PutVarint(key, rand.Int63n(math.MaxInt64))
			queued += len(requests)
			produced++
			requests <- v3.OpPut("/etcdctl-check-perf/"+string(key), value)
		}
		close(requests)
	}()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(latencies)
	n := len(latencies)
	at := func(q float64) float64 { return latencies[int(q*float64(n-1))] * 1e3 }
	fmt.Printf("%d puts in %.1f s = %.0f/s (pass needs > %.0f), %d errors; channel length seen by the producer: %.2f on average\n",
		n, elapsed, float64(n)/elapsed, 0.9*float64(*limit), errors, float64(queued)/float64(produced))
	fmt.Printf("put latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.1f\n", at(0.5), at(0.9), at(0.99), at(1))
}
