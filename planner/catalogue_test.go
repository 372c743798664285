package planner

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/blang/semver/v4"
)

// TestCatalogueComplete: every entry is complete and unique, and a rejection is an error.
func TestCatalogueComplete(t *testing.T) {
	seen := map[RuleID]bool{}
	for _, r := range Rules() {
		if seen[r.ID] {
			t.Errorf("%s: listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.ID == "" || len(r.Kinds) == 0 || r.Summary == "" || r.Source == "" || r.Action == "" {
			t.Errorf("%s: incomplete entry %+v", r.ID, r)
		}
		if !slices.Contains([]Severity{SeverityError, SeverityWarning, SeverityInfo}, r.Severity) {
			t.Errorf("%s: severity %q", r.ID, r.Severity)
		}
		if slices.Contains(r.Kinds, KindRejection) && r.Severity != SeverityError {
			t.Errorf("%s: a rejection is an error, not %s", r.ID, r.Severity)
		}
	}
}

// TestEveryEmittedRuleIsCatalogued reads the package's source: a rule is only ever
// a RuleID constant (never a string literal or a conversion), every RuleID
// constant is in the catalogue, and every catalogued rule is used outside it.
func TestEveryEmittedRuleIsCatalogued(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	declared := map[string]RuleID{} // constant name -> value
	used := map[string]bool{}       // constant names referenced outside catalogue.go
	isString := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		return ok && lit.Kind == token.STRING
	}
	isRuleField := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Rule"
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		literal := func(n ast.Node, what string) {
			t.Errorf("%s: %s is a string literal: declare a RuleID constant in catalogue.go and catalogue it", fset.Position(n.Pos()), what)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "RuleID" {
					for i, v := range n.Values {
						s, err := strconv.Unquote(v.(*ast.BasicLit).Value)
						if err != nil {
							t.Fatal(err)
						}
						declared[n.Names[i].Name] = RuleID(s)
					}
					return false
				}
			case *ast.Ident:
				if strings.HasPrefix(n.Name, "Rule") && name != "catalogue.go" {
					used[n.Name] = true
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Rule" && isString(n.Value) {
					literal(n, "a Rule field")
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if isRuleField(lhs) && i < len(n.Rhs) && isString(n.Rhs[i]) {
						literal(n, "a Rule field")
					}
				}
			case *ast.BinaryExpr:
				if (isRuleField(n.X) && isString(n.Y)) || (isRuleField(n.Y) && isString(n.X)) {
					literal(n, "a compared rule")
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "RuleID" {
					t.Errorf("%s: a conversion to RuleID: use a catalogued constant", fset.Position(n.Pos()))
				}
			case *ast.FuncDecl:
				checkReturns(t, fset, n.Type, n.Body, isString)
			case *ast.FuncLit:
				checkReturns(t, fset, n.Type, n.Body, isString)
			}
			return true
		})
	}
	if len(declared) == 0 {
		t.Fatal("no RuleID constant found")
	}
	for name, id := range declared {
		if _, ok := LookupRule(id); !ok {
			t.Errorf("%s (%s) is not in the catalogue", name, id)
		}
		if !used[name] {
			t.Errorf("%s (%s) is catalogued but the planner never uses it", name, id)
		}
	}
	if len(declared) != len(Rules()) {
		t.Errorf("%d RuleID constants, %d catalogue entries", len(declared), len(Rules()))
	}
}

// checkReturns flags string literals returned where a function's result is a RuleID.
func checkReturns(t *testing.T, fset *token.FileSet, typ *ast.FuncType, body *ast.BlockStmt, isString func(ast.Expr) bool) {
	if typ.Results == nil || body == nil {
		return
	}
	var ruleAt []int
	i := 0
	for _, field := range typ.Results.List {
		n := max(len(field.Names), 1)
		if id, ok := field.Type.(*ast.Ident); ok && id.Name == "RuleID" {
			for j := range n {
				ruleAt = append(ruleAt, i+j)
			}
		}
		i += n
	}
	if len(ruleAt) == 0 {
		return
	}
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false // checked on its own
		}
		if ret, ok := n.(*ast.ReturnStmt); ok {
			for _, at := range ruleAt {
				if at < len(ret.Results) && isString(ret.Results[at]) {
					if lit := ret.Results[at].(*ast.BasicLit); lit.Value != `""` {
						t.Errorf("%s: a returned rule is a string literal: use a catalogued constant", fset.Position(ret.Pos()))
					}
				}
			}
		}
		return true
	})
}

// TestPitfallConditions: the v1.12 pitfalls fire only for the core controller
// they describe, and say they are conditional when it was not read.
func TestPitfallConditions(t *testing.T) {
	v := func(s string) *semver.Version { x := semver.MustParse(s); return &x }
	chained := simResult{initial: capiPlan{controlPlane: []string{"v1.34.3", "v1.35.2"}}, states: []simState{{controlPlane: "v1.33.4"}}}
	patchOnly := simResult{initial: capiPlan{controlPlane: []string{"v1.33.5"}}, states: []simState{{controlPlane: "v1.33.4"}}}
	list := VersionSource{Type: SourceClusterClass}
	sdkOn := gates{coreKnown: true, coreSDK: true}
	sdkOff := gates{coreKnown: true}
	tests := []struct {
		name  string
		res   simResult
		core  *semver.Version
		gates gates
		want  []string // rule, and "?" after it when conditional
	}{
		{"chained, v1.14.2, RuntimeSDK on (make demo)", chained, v("1.14.2"), sdkOn, nil},
		{"chained, v1.14.2, RuntimeSDK off", chained, v("1.14.2"), sdkOff, nil},
		{"chained, v1.12.5, RuntimeSDK on", chained, v("1.12.5"), sdkOn, nil},
		{"chained, v1.12.5, RuntimeSDK off", chained, v("1.12.5"), sdkOff, []string{"CAPIv112RuntimeSDKOff"}},
		{"chained, v1.12.5, gates unread", chained, v("1.12.5"), gates{}, []string{"CAPIv112RuntimeSDKOff?"}},
		{"chained, controllers unread", chained, nil, gates{}, []string{"CAPIv112RuntimeSDKOff?"}},
		{"chained, version unread, RuntimeSDK on", chained, nil, sdkOn, nil},
		{"patch only, v1.12.3", patchOnly, v("1.12.3"), sdkOn, []string{"CAPIv112PatchOnly"}},
		{"patch only, v1.12.4", patchOnly, v("1.12.4"), sdkOn, nil},
		{"patch only, v1.13.0", patchOnly, v("1.13.0"), sdkOn, nil},
		{"patch only, version unread", patchOnly, nil, sdkOn, []string{"CAPIv112PatchOnly?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range pitfallFindings(list, tt.res, tt.core, tt.gates) {
				id := string(f.Rule)
				if f.Condition != "" {
					id += "?"
				}
				got = append(got, id)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestConditional: a finding whose precondition is known false is dropped; known
// true, kept as is; unknown, kept with the condition.
func TestConditional(t *testing.T) {
	f := Finding{Rule: RuleWorkersCannotScale}
	preflight := func(override map[string]bool) precondition {
		g := readGates(nil, override)
		return precondition{known: g.coreKnown, holds: g.corePreflight, what: "the gate is on"}
	}
	if got := conditional(f, preflight(map[string]bool{gatePreflight: false})); len(got) != 0 {
		t.Errorf("gate off: %+v", got)
	}
	if got := conditional(f, preflight(map[string]bool{"RuntimeSDK": true})); len(got) != 1 || got[0].Condition != "" {
		t.Errorf("gate on by default: %+v", got)
	}
	if got := conditional(f, precondition{what: "the gate is on"}); len(got) != 1 || !strings.Contains(got[0].Condition, "holds only if the gate is on") {
		t.Errorf("gate unknown: %+v", got)
	}
}
