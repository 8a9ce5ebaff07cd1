// Command xverify checks AgDR Merkle proofs, roots and signed checkpoints with established Go
// implementations that the project did not write:
//
//   - github.com/transparency-dev/merkle: proof.VerifyInclusion, proof.VerifyConsistency, the
//     proof node plans proof.Inclusion / proof.Consistency, and the compact range, over an
//     RFC 6962 hasher with BLAKE3 (lukechampine.com/blake3) in place of SHA-256;
//   - golang.org/x/mod/sumdb/note and github.com/transparency-dev/formats/log: signed notes and
//     C2SP checkpoints.
//
// Input: a stream of JSON cases (one object per line, or concatenated) on stdin, or in the file
// named by the only argument. Output: one JSON line {id, ok, error} per case. The exit code is
// 1 if any case's result differs from its "expect" field, 2 on unreadable input, else 0.
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
	"lukechampine.com/blake3"
)

// blake3Hasher is the RFC 6962 log hasher with BLAKE3-256 in place of SHA-256.
type blake3Hasher struct{}

func sum(parts ...[]byte) []byte {
	h := blake3.New(32, nil)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func (blake3Hasher) EmptyRoot() []byte               { return sum() }
func (blake3Hasher) HashLeaf(leaf []byte) []byte     { return sum([]byte{0x00}, leaf) }
func (blake3Hasher) HashChildren(l, r []byte) []byte { return sum([]byte{0x01}, l, r) }
func (blake3Hasher) Size() int                       { return 32 }

var hasher blake3Hasher

// hexBytes is a byte string written as lowercase or uppercase hex in JSON.
type hexBytes []byte

func (b *hexBytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

type nodeID struct {
	Level uint   `json:"level"`
	Index uint64 `json:"index"`
}

type rootAt struct {
	Size uint64   `json:"size"`
	Root hexBytes `json:"root"`
	// Optional: the compact range (perfect-subtree hashes, left to right) at Size.
	Frontier []hexBytes `json:"frontier"`
}

type ephemeral struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// testCase is the union of all case kinds; each kind reads its own fields.
type testCase struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Expect *bool  `json:"expect"`

	// inclusion / inclusion_plan; Entry (optional) is the leaf's data, whose leaf hash must
	// be LeafHash
	Entry    hexBytes `json:"entry"`
	Index    uint64   `json:"index"`
	Size     uint64   `json:"size"`
	LeafHash hexBytes `json:"leaf_hash"`
	Root     hexBytes `json:"root"`
	// consistency / consistency_plan
	Size1 uint64     `json:"size1"`
	Size2 uint64     `json:"size2"`
	Root1 hexBytes   `json:"root1"`
	Root2 hexBytes   `json:"root2"`
	Proof []hexBytes `json:"proof"`
	// inclusion_plan / consistency_plan
	Nodes     []nodeID   `json:"nodes"`
	Ephemeral *ephemeral `json:"ephemeral"`
	// roots: raw leaf entries, and the expected root (and frontier) at some sizes
	Entries []hexBytes `json:"entries"`
	Roots   []rootAt   `json:"roots"`
	// checkpoint
	Note         string   `json:"note"`
	VerifierKeys []string `json:"verifier_keys"`
	Origin       string   `json:"origin"`
	// Optional: the extension lines after the root line, verbatim.
	Extensions *string `json:"extensions"`
	// sign: the note Go signs with the Ed25519 private key Seed must equal Note
	Text string   `json:"text"`
	Name string   `json:"name"`
	Seed hexBytes `json:"seed"`
	// Optional (sign): our verifier key string for that key
	VerifierKey string `json:"verifier_key"`
}

type result struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func toSlices(in []hexBytes) [][]byte {
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = b
	}
	return out
}

func check(c *testCase) error {
	switch c.Kind {
	case "inclusion":
		if c.Entry != nil && !bytes.Equal(hasher.HashLeaf(c.Entry), c.LeafHash) {
			return fmt.Errorf("leaf hash %x, library computes %x", []byte(c.LeafHash), hasher.HashLeaf(c.Entry))
		}
		return proof.VerifyInclusion(hasher, c.Index, c.Size, c.LeafHash, toSlices(c.Proof), c.Root)
	case "consistency":
		return proof.VerifyConsistency(hasher, c.Size1, c.Size2, toSlices(c.Proof), c.Root1, c.Root2)
	case "inclusion_plan":
		n, err := proof.Inclusion(c.Index, c.Size)
		if err != nil {
			return err
		}
		return samePlan(n, c.Nodes, c.Ephemeral)
	case "consistency_plan":
		n, err := proof.Consistency(c.Size1, c.Size2)
		if err != nil {
			return err
		}
		return samePlan(n, c.Nodes, c.Ephemeral)
	case "roots":
		return checkRoots(c)
	case "checkpoint":
		return checkCheckpoint(c)
	case "sign":
		return checkSign(c)
	default:
		return fmt.Errorf("unknown case kind %q", c.Kind)
	}
}

// samePlan compares the node IDs of a proof, and the slice of them that folds into the
// ephemeral node (nil: none), with the library's plan.
func samePlan(n proof.Nodes, nodes []nodeID, eph *ephemeral) error {
	if len(n.IDs) != len(nodes) {
		return fmt.Errorf("plan has %d nodes, library has %d", len(nodes), len(n.IDs))
	}
	for i, id := range n.IDs {
		if id.Level != nodes[i].Level || id.Index != nodes[i].Index {
			return fmt.Errorf("node %d is (%d, %d), library has (%d, %d)",
				i, nodes[i].Level, nodes[i].Index, id.Level, id.Index)
		}
	}
	_, begin, end := n.Ephem()
	switch {
	case begin >= end && eph != nil:
		return fmt.Errorf("plan has ephemeral [%d, %d), library has none", eph.Begin, eph.End)
	case begin < end && eph == nil:
		return fmt.Errorf("plan has no ephemeral node, library has [%d, %d)", begin, end)
	case begin < end && (eph.Begin != begin || eph.End != end):
		return fmt.Errorf("plan has ephemeral [%d, %d), library has [%d, %d)", eph.Begin, eph.End, begin, end)
	}
	return nil
}

// checkRoots hashes the entries as leaves, appends them to a compact range and compares the
// root (and frontier, when given) at each listed size, in increasing size order.
func checkRoots(c *testCase) error {
	rf := compact.RangeFactory{Hash: hasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for _, want := range c.Roots {
		if want.Size > uint64(len(c.Entries)) {
			return fmt.Errorf("size %d beyond the %d entries", want.Size, len(c.Entries))
		}
		if want.Size < r.End() {
			return fmt.Errorf("sizes must increase: %d after %d", want.Size, r.End())
		}
		for r.End() < want.Size {
			if err := r.Append(hasher.HashLeaf(c.Entries[r.End()]), nil); err != nil {
				return err
			}
		}
		got, err := r.GetRootHash(nil)
		if err != nil {
			return err
		}
		if r.End() == 0 {
			got = hasher.EmptyRoot()
		}
		if !bytes.Equal(got, want.Root) {
			return fmt.Errorf("root at size %d is %x, library computes %x", want.Size, []byte(want.Root), got)
		}
		if want.Frontier != nil {
			hs := r.Hashes()
			if len(hs) != len(want.Frontier) {
				return fmt.Errorf("frontier at size %d has %d hashes, library has %d", want.Size, len(want.Frontier), len(hs))
			}
			for i, h := range hs {
				if !bytes.Equal(h, want.Frontier[i]) {
					return fmt.Errorf("frontier hash %d at size %d differs", i, want.Size)
				}
			}
		}
	}
	return nil
}

// checkCheckpoint opens the note with the given verifier keys (the first is the log's) and
// parses it as a checkpoint of the expected origin; when size/root are given they must match.
func checkCheckpoint(c *testCase) error {
	if len(c.VerifierKeys) == 0 {
		return errors.New("no verifier keys")
	}
	vs := make([]note.Verifier, len(c.VerifierKeys))
	for i, k := range c.VerifierKeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return fmt.Errorf("verifier key %d: %w", i, err)
		}
		vs[i] = v
	}
	cp, rest, _, err := log.ParseCheckpoint([]byte(c.Note), c.Origin, vs[0], vs[1:]...)
	if err != nil {
		return err
	}
	if cp.Size != c.Size {
		return fmt.Errorf("checkpoint size %d, want %d", cp.Size, c.Size)
	}
	if c.Root != nil && !bytes.Equal(cp.Hash, c.Root) {
		return fmt.Errorf("checkpoint root %x, want %x", cp.Hash, []byte(c.Root))
	}
	if c.Extensions != nil && string(rest) != *c.Extensions {
		return fmt.Errorf("checkpoint extension lines %q, want %q", rest, *c.Extensions)
	}
	return nil
}

// checkSign signs Text as a note with the library and compares it with Note byte for byte
// (Ed25519 is deterministic), and the library's verifier key string with ours.
func checkSign(c *testCase) error {
	if len(c.Seed) != ed25519.SeedSize {
		return fmt.Errorf("seed is %d bytes", len(c.Seed))
	}
	pub := ed25519.NewKeyFromSeed(c.Seed).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(c.Name, pub)
	if err != nil {
		return err
	}
	if c.VerifierKey != "" && vkey != c.VerifierKey {
		return fmt.Errorf("verifier key %q, library makes %q", c.VerifierKey, vkey)
	}
	// The private key string: PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed).
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", c.Name, v.KeyHash(),
		base64.StdEncoding.EncodeToString(append([]byte{0x01}, c.Seed...)))
	s, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	signed, err := note.Sign(&note.Note{Text: c.Text}, s)
	if err != nil {
		return err
	}
	if string(signed) != c.Note {
		return fmt.Errorf("note differs from the library's:\n%q\n%q", c.Note, signed)
	}
	return nil
}

func main() {
	var in io.Reader = os.Stdin
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: xverify [cases.ndjson]   (default: stdin)")
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "xverify:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	dec := json.NewDecoder(bufio.NewReaderSize(in, 1<<20))
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	total, mismatched := 0, 0
	for {
		var c testCase
		if err := dec.Decode(&c); err == io.EOF {
			break
		} else if err != nil {
			out.Flush()
			fmt.Fprintf(os.Stderr, "xverify: case %d: %v\n", total+1, err)
			os.Exit(2)
		}
		total++
		res := result{ID: c.ID, OK: true}
		if err := check(&c); err != nil {
			res.OK, res.Error = false, err.Error()
		}
		if c.Expect == nil || *c.Expect != res.OK {
			mismatched++
		}
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, "xverify:", err)
			os.Exit(2)
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "xverify:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "xverify: %d cases, %d not as expected\n", total, mismatched)
	if mismatched > 0 {
		os.Exit(1)
	}
}
