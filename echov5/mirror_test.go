package echov5_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMirrorsServer: the package declares the same exported names as
// package server, the Echo v4 adapter beside it in the repository (types,
// functions, constants, variables, and the methods of each type), so that
// an application moves from Echo v4 to v5 by changing its imports and its
// hooks' context type. It reads both packages' source; out of the
// repository (a module cache) there is no server to compare with.
func TestMirrorsServer(t *testing.T) {
	server := filepath.Join("..", "server")
	if _, err := os.Stat(filepath.Join(server, "hub.go")); err != nil {
		t.Skipf("package server's source is not at %s: %v", server, err)
	}
	want, got := exportedNames(t, server), exportedNames(t, ".")
	for _, name := range want {
		if !slices.Contains(got, name) {
			t.Errorf("package server declares %s; echov5 does not", name)
		}
	}
	for _, name := range got {
		if !slices.Contains(want, name) {
			t.Errorf("echov5 declares %s; package server does not", name)
		}
	}
}

// exportedNames returns the exported names declared by the package in dir,
// its tests aside: "Name" for a type, function, constant or variable,
// "Type.Method" for a method.
func exportedNames(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					names = append(names, d.Name.Name)
					continue
				}
				recv := d.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
					names = append(names, id.Name+"."+d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names = append(names, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names = append(names, n.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}
