// null-kv answers etcd's KV Put, Range and DeleteRange without storing anything. It measures what
// `etcdctl check perf` can reach on a machine when the server costs next to nothing: with
// -wal FILE it batches the puts that arrive while a 4 KiB O_DSYNC write to FILE is in flight and
// answers them when it returns (group commit, the least a durable server must do); without it,
// it answers at once.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	pb "go.etcd.io/etcd/etcdserver/etcdserverpb"
	"google.golang.org/grpc"
)

const walSize = 64 << 20

type nullKV struct {
	pb.KVServer
	rev int64

	mu      sync.Mutex
	waiting chan struct{} // closed when the write that will cover the current puts returns
	wake    chan struct{} // signals the writer that puts are waiting
	wal     *os.File
}

func (s *nullKV) header() *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: 1, MemberId: 1, Revision: atomic.AddInt64(&s.rev, 1), RaftTerm: 2}
}

func (s *nullKV) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	if s.wal != nil {
		s.mu.Lock()
		done := s.waiting
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
		<-done
	}
	return &pb.PutResponse{Header: s.header()}, nil
}

func (s *nullKV) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	return &pb.RangeResponse{Header: s.header()}, nil
}

func (s *nullKV) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	return &pb.DeleteRangeResponse{Header: s.header()}, nil
}

// writeLoop is the group commit: one durable write serves every put that arrived before it began.
func (s *nullKV) writeLoop() {
	block := make([]byte, 4096)
	var off int64
	for range s.wake {
		s.mu.Lock()
		batch := s.waiting
		s.waiting = make(chan struct{})
		s.mu.Unlock()
		if _, err := s.wal.WriteAt(block, off); err != nil {
			log.Fatal(err)
		}
		off = (off + int64(len(block))) % walSize
		close(batch)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:24990", "listen address")
	walPath := flag.String("wal", "", "file for one 4 KiB O_DSYNC write per batch of puts (preallocated to 64 MiB)")
	flag.Parse()
	s := &nullKV{waiting: make(chan struct{}), wake: make(chan struct{}, 1)}
	if *walPath != "" {
		f, err := os.OpenFile(*walPath, os.O_CREATE|os.O_WRONLY|syscall.O_DSYNC, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := f.WriteAt(make([]byte, walSize), 0); err != nil {
			log.Fatal(err)
		}
		s.wal = f
		go s.writeLoop()
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	g := grpc.NewServer()
	pb.RegisterKVServer(g, s)
	log.Fatal(g.Serve(l))
}
