package hubtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ssevent/ssevent/internal/leakcheck"
)

// TestMain fails the package when goroutines outlive the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// TestSuiteListsEveryTest: every func TestXxx(*testing.T, Mount) of the
// package is in tests, once, so that Run misses none.
func TestSuiteListsEveryTest(t *testing.T) {
	fset := token.NewFileSet()
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, fi := range files {
		name := fi.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") && isSuiteTest(fn.Type) {
				declared = append(declared, fn.Name.Name)
			}
		}
	}
	var listed []string
	for _, tc := range tests {
		listed = append(listed, funcName(tc.fn))
	}
	slices.Sort(declared)
	sorted := slices.Sorted(slices.Values(listed))
	if len(declared) == 0 {
		t.Fatal("no suite test found: is the working directory the package's?")
	}
	for _, name := range declared {
		if !slices.Contains(listed, name) {
			t.Errorf("%s is not in tests: Run does not run it", name)
		}
	}
	for i, name := range sorted {
		if i > 0 && sorted[i-1] == name {
			t.Errorf("%s is in tests twice", name)
		}
		if !slices.Contains(declared, name) {
			t.Errorf("%s is in tests but not declared as func(*testing.T, Mount)", name)
		}
	}
}

// isSuiteTest reports whether ft is func(*testing.T, Mount).
func isSuiteTest(ft *ast.FuncType) bool {
	p := ft.Params.List
	if ft.Results != nil || len(p) != 2 || len(p[0].Names) > 1 || len(p[1].Names) > 1 {
		return false
	}
	star, ok := p[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	mount, ok2 := p[1].Type.(*ast.Ident)
	return ok && ok2 && sel.Sel.Name == "T" && mount.Name == "Mount"
}
