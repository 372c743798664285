package state

import (
	"maps"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestControllerInfo(t *testing.T) {
	deploy := func(image string, args ...string) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		d.Namespace, d.Name = "capi-system", "capi-controller-manager"
		d.Labels = map[string]string{ProviderLabel: "cluster-api"}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "manager", Image: image, Args: args, Env: []corev1.EnvVar{{Name: "TOKEN", Value: "secret"}}}}
		return d
	}
	tests := []struct {
		d        *appsv1.Deployment
		version  string
		gates    map[string]bool
		unparsed string
	}{
		{deploy("registry.k8s.io/cluster-api/cluster-api-controller:v1.14.2", "--feature-gates=RuntimeSDK=true,InPlaceUpdates=false"), "v1.14.2", map[string]bool{"RuntimeSDK": true, "InPlaceUpdates": false}, ""},
		{deploy("my.registry:5000/capi@sha256:abc", "--feature-gates", "ClusterTopology=true"), "", map[string]bool{"ClusterTopology": true}, ""},
		{deploy("capi:v1.12.3", "--feature-gates=RuntimeSDK"), "v1.12.3", nil, "RuntimeSDK"},
		{deploy("capi:v1.13.0"), "v1.13.0", nil, ""},
	}
	for _, tt := range tests {
		st := &State{}
		if err := st.Add(tt.d); err != nil {
			t.Fatal(err)
		}
		if env := st.Controllers[0].Spec.Template.Spec.Containers[0].Env; env != nil {
			t.Errorf("the controller's environment was kept: %v", env)
		}
		got := st.ControllerInfo()[0]
		if got.Version != tt.version || !reflect.DeepEqual(got.FeatureGates, tt.gates) || got.FeatureGatesArg != tt.unparsed || got.Provider != "cluster-api" {
			t.Errorf("%s %v: got %+v", tt.d.Spec.Template.Spec.Containers[0].Image, tt.d.Spec.Template.Spec.Containers[0].Args, got)
		}
	}
}

// --feature-gates is read as the controllers' own flag reads it.
func TestParseFeatureGates(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  map[string]bool
	}{
		{"InPlaceUpdates=true,RuntimeSDK=false", map[string]bool{"InPlaceUpdates": true, "RuntimeSDK": false}},
		{" InPlaceUpdates = true ,,RuntimeSDK=1", map[string]bool{"InPlaceUpdates": true, "RuntimeSDK": true}},
		{"", map[string]bool{}},
		{"InPlaceUpdates", nil},
		{"InPlaceUpdates=yes", nil},
		{"=true", nil},
	} {
		got, err := ParseFeatureGates(tc.value)
		if (err != nil) != (tc.want == nil) || (tc.want != nil && !maps.Equal(got, tc.want)) {
			t.Errorf("ParseFeatureGates(%q) = %v, %v; want %v", tc.value, got, err, tc.want)
		}
	}
}
