// Package package_test checks the generated CRDs as the API server would use
// them, against every example and against the bad input people will write.
package package_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// schema validates objects of one kind: OpenAPI validation, pruning of
// unknown fields, unique set items and CEL rules, as the API server applies
// them.
type schema struct {
	structural *structuralschema.Structural
	openAPI    validation.SchemaValidator
	cel        *cel.Validator
}

// validate returns every error the API server would give for obj (an update
// from old when old is not nil).
func (s schema) validate(obj, old map[string]any) []string {
	var errs []string
	if unknown := pruning.PruneWithOptions(deepCopy(obj), s.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}); len(unknown) > 0 {
		errs = append(errs, "unknown fields: "+strings.Join(unknown, ", "))
	}
	var fieldErrs field.ErrorList
	if old == nil {
		fieldErrs = validation.ValidateCustomResource(nil, obj, s.openAPI)
	} else {
		fieldErrs = validation.ValidateCustomResourceUpdate(nil, obj, old, s.openAPI)
	}
	// The API server checks that a set's items are unique apart from the
	// schema validation.
	fieldErrs = append(fieldErrs, listtype.ValidateListSetsAndMaps(nil, s.structural, obj)...)
	celErrs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, old, celconfig.RuntimeCELCostBudget)
	for _, e := range append(fieldErrs, celErrs...) {
		errs = append(errs, e.Error())
	}
	return errs
}

func deepCopy(o map[string]any) map[string]any {
	b, _ := yaml.Marshal(o)
	var out map[string]any
	_ = yaml.Unmarshal(b, &out)
	return out
}

// loadSchemas reads every CRD in crds/ and returns a schema per
// "apiVersion/kind".
func loadSchemas(t *testing.T) map[string]schema {
	t.Helper()
	files, err := filepath.Glob("crds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in package/crds (%v): run make generate", err)
	}
	out := map[string]schema{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range crd.Spec.Versions {
			internal := &apiextensions.JSONSchemaProps{}
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			structural, err := structuralschema.NewStructural(internal)
			if err != nil {
				t.Fatalf("%s: schema is not structural: %v", f, err)
			}
			openAPI, _, err := validation.NewSchemaValidator(internal)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out[crd.Spec.Group+"/"+v.Name+"/"+crd.Spec.Names.Kind] = schema{
				structural: structural, openAPI: openAPI, cel: cel.NewValidator(structural, true, celconfig.PerCallLimit),
			}
		}
	}
	return out
}

// readObjects reads every object of a multi-document YAML file.
func readObjects(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, doc := range strings.Split(string(b), "\n---") {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

func schemaFor(t *testing.T, schemas map[string]schema, o map[string]any) (schema, bool) {
	t.Helper()
	key := fmt.Sprintf("%v/%v", o["apiVersion"], o["kind"])
	if !strings.Contains(key, "alibabacloud.") {
		// A core kind such as Secret, or Crossplane's and the composition
		// example's kinds: test/composition validates those.
		return schema{}, false
	}
	s, ok := schemas[key]
	if !ok {
		t.Fatalf("no CRD for %s", key)
	}
	return s, true
}

// TestExamplesValidate proves every example in examples/ is accepted by the
// generated CRDs.
func TestExamplesValidate(t *testing.T) {
	schemas := loadSchemas(t)
	var files []string
	err := filepath.WalkDir("../examples", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	covered := map[string]bool{}
	for _, f := range files {
		for _, o := range readObjects(t, f) {
			s, ok := schemaFor(t, schemas, o)
			if !ok {
				continue
			}
			covered[fmt.Sprintf("%v/%v", o["apiVersion"], o["kind"])] = true
			if errs := s.validate(o, nil); len(errs) > 0 {
				t.Errorf("%s: %s", f, strings.Join(errs, "; "))
			}
		}
	}
	for _, want := range []string{
		"ecs.alibabacloud.m.crossplane.io/v1beta1/ImageSharePermission",
		"ecs.alibabacloud.crossplane.io/v1beta1/ImageSharePermission",
		"ecs.alibabacloud.m.crossplane.io/v1beta1/ImageSharing",
		"ecs.alibabacloud.crossplane.io/v1beta1/ImageSharing",
		"alibabacloud.m.crossplane.io/v1beta1/ProviderConfig",
		"alibabacloud.m.crossplane.io/v1beta1/ClusterProviderConfig",
		"alibabacloud.crossplane.io/v1beta1/ProviderConfig",
	} {
		if !covered[want] {
			t.Errorf("examples/ has no %s", want)
		}
	}
}

// badInput is a change to a valid example's forProvider, and what the API
// server must say about it.
type badInput struct {
	name   string
	update bool // the change is an update of the valid example
	set    func(fp map[string]any)
	want   string
}

// rejects applies each change to each scope's example and checks that the
// API server would refuse it with the message wanted.
func rejects(t *testing.T, bases map[string]string, cases []badInput) {
	t.Helper()
	schemas := loadSchemas(t)
	for scope, path := range bases {
		for _, tc := range cases {
			t.Run(scope+"/"+tc.name, func(t *testing.T) {
				old := readObjects(t, path)[0]
				s, _ := schemaFor(t, schemas, old)
				obj := deepCopy(old)
				tc.set(obj["spec"].(map[string]any)["forProvider"].(map[string]any))
				var prev map[string]any
				if tc.update {
					prev = old
				}
				errs := strings.Join(s.validate(obj, prev), "; ")
				if !strings.Contains(errs, tc.want) {
					t.Errorf("errors %q do not contain %q", errs, tc.want)
				}
			})
		}
	}
}

// TestRejectsBadInput checks that what people get wrong is refused with a
// message that says what to do, for both scopes.
func TestRejectsBadInput(t *testing.T) {
	rejects(t, map[string]string{
		"namespaced": "../examples/namespaced/imagesharepermission.yaml",
		"cluster":    "../examples/cluster/imagesharepermission.yaml",
	}, []badInput{
		{name: "letters in accountId", set: func(fp map[string]any) { fp["accountId"] = "alice" }, want: "accountId must be the numeric ID of an Alibaba Cloud account"},
		{name: "too long accountId", set: func(fp map[string]any) { fp["accountId"] = strings.Repeat("1", 21) }, want: "Too long"},
		{name: "not an image id", set: func(fp map[string]any) { fp["imageId"] = "ubuntu_22_04" }, want: "imageId must be a custom image ID"},
		{name: "not a region", set: func(fp map[string]any) { fp["region"] = "Hangzhou" }, want: "region must be an Alibaba Cloud region ID"},
		{name: "missing accountId", set: func(fp map[string]any) { delete(fp, "accountId") }, want: "accountId: Required value"},
		{name: "unknown field", set: func(fp map[string]any) { fp["accountIds"] = []any{"1"} }, want: "unknown fields: spec.forProvider.accountIds"},
		{name: "changing imageId", update: true, set: func(fp map[string]any) { fp["imageId"] = "m-other0001" }, want: "imageId is immutable: create a new ImageSharePermission instead"},
		{name: "changing accountId", update: true, set: func(fp map[string]any) { fp["accountId"] = "4444444444444444" }, want: "accountId is immutable"},
		{name: "changing region", update: true, set: func(fp map[string]any) { fp["region"] = "cn-beijing" }, want: "region is immutable"},
	})
}

// TestImageSharingRejectsBadInput is TestRejectsBadInput for ImageSharing.
func TestImageSharingRejectsBadInput(t *testing.T) {
	many := make([]any, 501)
	for i := range many {
		many[i] = fmt.Sprintf("%016d", i)
	}
	rejects(t, map[string]string{
		"namespaced": "../examples/namespaced/imagesharing.yaml",
		"cluster":    "../examples/cluster/imagesharing.yaml",
	}, []badInput{
		{name: "letters in an account", set: func(fp map[string]any) { fp["accounts"] = []any{"2222222222222222", "alice"} }, want: "accounts must be numeric IDs of Alibaba Cloud accounts"},
		{name: "too long an account", set: func(fp map[string]any) { fp["accounts"] = []any{strings.Repeat("1", 21)} }, want: "Too long"},
		{name: "an account twice", set: func(fp map[string]any) { fp["accounts"] = []any{"2222222222222222", "2222222222222222"} }, want: "Duplicate value"},
		{name: "too many accounts", set: func(fp map[string]any) { fp["accounts"] = many }, want: "must have at most 500 items"},
		{name: "both image and family", set: func(fp map[string]any) { fp["imageFamily"] = "golden-base" }, want: "set exactly one of imageId and imageFamily"},
		{name: "neither image nor family", set: func(fp map[string]any) { delete(fp, "imageId") }, want: "set exactly one of imageId and imageFamily"},
		{name: "not a family name", set: func(fp map[string]any) { delete(fp, "imageId"); fp["imageFamily"] = "9lives" }, want: "imageFamily must be an ECS image family name"},
		{name: "a system family", set: func(fp map[string]any) { delete(fp, "imageId"); fp["imageFamily"] = "acs:ubuntu" }, want: "imageFamily must be an ECS image family name"},
		{name: "versions kept of an image", set: func(fp map[string]any) { fp["keepPreviousVersions"] = int64(1) }, want: "keepPreviousVersions applies only to an imageFamily"},
		{name: "too many versions kept", set: func(fp map[string]any) {
			delete(fp, "imageId")
			fp["imageFamily"] = "golden-base"
			fp["keepPreviousVersions"] = int64(6)
		}, want: "should be less than or equal to 5"},
		{name: "not an image id", set: func(fp map[string]any) { fp["imageId"] = "ubuntu_22_04" }, want: "imageId must be a custom image ID"},
		{name: "changing imageId", update: true, set: func(fp map[string]any) { fp["imageId"] = "m-other0001" }, want: "imageId is immutable: create a new ImageSharing instead"},
		{name: "image to family", update: true, set: func(fp map[string]any) { delete(fp, "imageId"); fp["imageFamily"] = "golden-base" }, want: "imageId and imageFamily are immutable"},
		{name: "changing region", update: true, set: func(fp map[string]any) { fp["region"] = "cn-beijing" }, want: "region is immutable"},
	})
}

func TestProviderConfigValidation(t *testing.T) {
	schemas := loadSchemas(t)
	const (
		cluster    = "../examples/clusterproviderconfig.yaml"
		namespaced = "../examples/namespaced/providerconfig.yaml"
	)
	creds := func(spec map[string]any) map[string]any { return spec["credentials"].(map[string]any) }
	cases := []struct {
		reason  string
		example string
		set     func(spec map[string]any)
		// want is in the API server's answer; empty means accepted.
		want string
	}{
		{reason: "a Secret source needs secretRef", example: cluster, set: func(spec map[string]any) { delete(creds(spec), "secretRef") }, want: "credentials.secretRef is required when the source is Secret"},
		{reason: "an endpoint needs a scheme", example: cluster, set: func(spec map[string]any) { spec["endpoint"] = "ecs.cn-hangzhou.aliyuncs.com" }, want: "endpoint must be a URL with an http or https scheme"},
		{reason: "an endpoint has no path", example: cluster, set: func(spec map[string]any) { spec["endpoint"] = "https://ecs.aliyuncs.com/api" }, want: "endpoint must be a URL"},
		{reason: "only known sources", example: cluster, set: func(spec map[string]any) { creds(spec)["source"] = "InjectedIdentity" }, want: "Unsupported value"},
		{reason: "a simulator on loopback may use http", example: cluster, set: func(spec map[string]any) { spec["endpoint"] = "http://127.0.0.1:8080" }},
		{reason: "a connect timeout over 30s would hold shared workers", example: cluster, set: func(spec map[string]any) { spec["timeouts"] = map[string]any{"connect": "1h"} }, want: "timeouts.connect must be more than 0s and at most 30s"},
		{reason: "a read timeout over 60s would hold shared workers", example: cluster, set: func(spec map[string]any) { spec["timeouts"] = map[string]any{"read": "8760h"} }, want: "timeouts.read must be more than 0s and at most 60s"},
		{reason: "timeouts within the bounds are accepted", example: cluster, set: func(spec map[string]any) { spec["timeouts"] = map[string]any{"connect": "10s", "read": "1m"} }},
		{reason: "localhost may use http", example: namespaced, set: func(spec map[string]any) { spec["endpoint"] = "http://localhost:8080/" }},
		{reason: "IPv6 loopback may use http", example: cluster, set: func(spec map[string]any) { spec["endpoint"] = "http://[::1]:8080" }},
		{reason: "plain http to another host would send tokens in clear", example: cluster, set: func(spec map[string]any) { spec["endpoint"] = "http://ecs.cn-hangzhou.aliyuncs.com" }, want: "endpoint uses plain http to a host that is not loopback"},
		{reason: "a host that only starts like loopback is not loopback", example: namespaced, set: func(spec map[string]any) { spec["endpoint"] = "http://127.0.0.1.example.com" }, want: "set allowPlainHTTP: true if the network is trusted"},
		{reason: "plain http to another host is an explicit opt-in", example: cluster, set: func(spec map[string]any) {
			spec["endpoint"], spec["allowPlainHTTP"] = "http://ecs.internal:8080", true
		}},
		{reason: "a CA bundle for a private https endpoint", example: cluster, set: func(spec map[string]any) {
			spec["endpoint"] = "https://ecs.internal"
			spec["tls"] = map[string]any{"caBundleSecretRef": map[string]any{"namespace": "crossplane-system", "name": "ecs-ca", "key": "ca.crt"}}
		}},
		{reason: "a CA bundle means nothing to plain http", example: cluster, set: func(spec map[string]any) {
			spec["endpoint"] = "http://127.0.0.1:8080"
			spec["tls"] = map[string]any{"caBundleSecretRef": map[string]any{"namespace": "crossplane-system", "name": "ecs-ca", "key": "ca.crt"}}
		}, want: "tls applies only to https endpoints"},
		{reason: "a CA bundle needs a key", example: cluster, set: func(spec map[string]any) {
			spec["tls"] = map[string]any{"caBundleSecretRef": map[string]any{"namespace": "crossplane-system", "name": "ecs-ca"}}
		}, want: "key: Required value"},
		{reason: "a tenant may not read the provider's environment", example: namespaced, set: func(spec map[string]any) {
			spec["credentials"] = map[string]any{"source": "Environment", "env": map[string]any{"name": "ALIBABA_CLOUD_CREDENTIALS"}}
		}, want: "a namespaced ProviderConfig may only use credentials.source Secret"},
		{reason: "a tenant may not read the provider's files", example: namespaced, set: func(spec map[string]any) {
			spec["credentials"] = map[string]any{"source": "Filesystem", "fs": map[string]any{"path": "/etc/provider/credentials"}}
		}, want: "which only a ClusterProviderConfig may use"},
		{reason: "an administrator may use the provider's environment", example: cluster, set: func(spec map[string]any) {
			spec["credentials"] = map[string]any{"source": "Environment", "env": map[string]any{"name": "ALIBABA_CLOUD_CREDENTIALS"}}
		}},
		{reason: "an administrator may use the provider's files", example: "../examples/cluster/providerconfig.yaml", set: func(spec map[string]any) {
			spec["credentials"] = map[string]any{"source": "Filesystem", "fs": map[string]any{"path": "/etc/provider/credentials"}}
		}},
		{reason: "an STS endpoint on loopback may use http", example: namespaced, set: func(spec map[string]any) { spec["stsEndpoint"] = "http://127.0.0.1:8080" }},
		{reason: "plain http to another STS host would send issued credentials in clear", example: cluster, set: func(spec map[string]any) { spec["stsEndpoint"] = "http://sts.aliyuncs.com" }, want: "stsEndpoint uses plain http to a host that is not loopback"},
		{reason: "an STS endpoint has no path", example: cluster, set: func(spec map[string]any) { spec["stsEndpoint"] = "https://sts.aliyuncs.com/x" }, want: "stsEndpoint must be a URL"},
		{reason: "a CA bundle means nothing to a plain http STS endpoint", example: cluster, set: func(spec map[string]any) {
			spec["stsEndpoint"] = "http://127.0.0.1:8080"
			spec["tls"] = map[string]any{"caBundleSecretRef": map[string]any{"namespace": "crossplane-system", "name": "ecs-ca", "key": "ca.crt"}}
		}, want: "tls applies only to https endpoints"},
		{reason: "an administrator may use the pod's RRSA identity with every field from its environment", example: cluster, set: func(spec map[string]any) {
			spec["credentials"] = map[string]any{"source": "RRSA"}
		}},
		{reason: "an administrator may use the instance's RAM role", example: "../examples/cluster/providerconfig.yaml", set: func(spec map[string]any) {
			spec["credentials"] = map[string]any{"source": "ECSRole", "ecsRole": map[string]any{"roleName": "provider-node"}}
		}},
		{reason: "a tenant may not use the pod's RRSA identity", example: namespaced, set: func(spec map[string]any) {
			spec["credentials"] = map[string]any{"source": "RRSA"}
		}, want: "a namespaced ProviderConfig may only use credentials.source Secret"},
		{reason: "a tenant may not use the instance's RAM role", example: namespaced, set: func(spec map[string]any) {
			spec["credentials"] = map[string]any{"source": "ECSRole"}
		}, want: "a namespaced ProviderConfig may only use credentials.source Secret"},
		{reason: "a tenant may assume roles with its own Secret", example: namespaced, set: func(spec map[string]any) {
			spec["assumeRoleChain"] = []any{
				map[string]any{"roleARN": "acs:ram::1111111111111111:role/broker"},
				map[string]any{"roleARN": "acs:ram::2222222222222222:role/image-sharer", "externalID": strings.Repeat("x", 1224), "durationSeconds": int64(43200), "sessionName": "team-a", "policy": `{"Version":"1"}`},
			}
		}},
		{reason: "rrsa settings with another source", example: cluster, set: func(spec map[string]any) {
			creds(spec)["rrsa"] = map[string]any{"roleARN": "acs:ram::1111111111111111:role/x"}
		}, want: "credentials.rrsa applies only to source RRSA"},
		{reason: "a role ARN names a role", example: namespaced, set: func(spec map[string]any) {
			spec["assumeRoleChain"] = []any{map[string]any{"roleARN": "acs:ram::1111111111111111:user/alice"}}
		}, want: "assumeRoleChain[0].roleARN"},
		{reason: "an ExternalId longer than STS takes", example: namespaced, set: func(spec map[string]any) {
			spec["assumeRoleChain"] = []any{map[string]any{"roleARN": "acs:ram::1111111111111111:role/x", "externalID": strings.Repeat("x", 1225)}}
		}, want: "externalID: Too long"},
		{reason: "an ExternalId with a character STS refuses", example: namespaced, set: func(spec map[string]any) {
			spec["assumeRoleChain"] = []any{map[string]any{"roleARN": "acs:ram::1111111111111111:role/x", "externalID": "a b"}}
		}, want: "externalID"},
		{reason: "a session shorter than STS allows", example: namespaced, set: func(spec map[string]any) {
			spec["assumeRoleChain"] = []any{map[string]any{"roleARN": "acs:ram::1111111111111111:role/x", "durationSeconds": int64(899)}}
		}, want: "durationSeconds"},
		{reason: "an administrator may limit a ClusterProviderConfig to some namespaces", example: cluster, set: func(spec map[string]any) {
			spec["namespaceSelector"] = map[string]any{
				"matchLabels": map[string]any{"team": "a"},
				"matchExpressions": []any{
					map[string]any{"key": "kubernetes.io/metadata.name", "operator": "In", "values": []any{"team-a", "team-b"}},
					map[string]any{"key": "quarantined", "operator": "DoesNotExist"},
				},
			}
		}},
		{reason: "an empty namespaceSelector selects every namespace", example: cluster, set: func(spec map[string]any) { spec["namespaceSelector"] = map[string]any{} }},
		{reason: "a namespaceSelector operator Kubernetes does not know", example: cluster, set: func(spec map[string]any) {
			spec["namespaceSelector"] = map[string]any{"matchExpressions": []any{map[string]any{"key": "team", "operator": "Equals", "values": []any{"a"}}}}
		}, want: "namespaceSelector.matchExpressions[].operator must be In, NotIn, Exists or DoesNotExist"},
		{reason: "In without values would select nothing", example: cluster, set: func(spec map[string]any) {
			spec["namespaceSelector"] = map[string]any{"matchExpressions": []any{map[string]any{"key": "team", "operator": "In"}}}
		}, want: "values must be non-empty for the operators In and NotIn"},
		{reason: "Exists takes no values", example: cluster, set: func(spec map[string]any) {
			spec["namespaceSelector"] = map[string]any{"matchExpressions": []any{map[string]any{"key": "team", "operator": "Exists", "values": []any{"a"}}}}
		}, want: "and empty for Exists and DoesNotExist"},
		{reason: "a namespaceSelector expression needs a key", example: cluster, set: func(spec map[string]any) {
			spec["namespaceSelector"] = map[string]any{"matchExpressions": []any{map[string]any{"operator": "Exists"}}}
		}, want: "key: Required value"},
		{reason: "a namespaced ProviderConfig serves its own namespace alone: no namespaceSelector", example: namespaced, set: func(spec map[string]any) {
			spec["namespaceSelector"] = map[string]any{"matchLabels": map[string]any{"team": "a"}}
		}, want: "unknown fields: spec.namespaceSelector"},
		{reason: "a cluster-scoped ProviderConfig serves resources without a namespace: no namespaceSelector", example: "../examples/cluster/providerconfig.yaml", set: func(spec map[string]any) {
			spec["namespaceSelector"] = map[string]any{"matchLabels": map[string]any{"team": "a"}}
		}, want: "unknown fields: spec.namespaceSelector"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			old := readObjects(t, tc.example)[0]
			s, _ := schemaFor(t, schemas, old)
			obj := deepCopy(old)
			tc.set(obj["spec"].(map[string]any))
			errs := strings.Join(s.validate(obj, nil), "; ")
			switch {
			case tc.want == "" && errs != "":
				t.Errorf("refused: %s", errs)
			case tc.want != "" && !strings.Contains(errs, tc.want):
				t.Errorf("errors %q do not contain %q", errs, tc.want)
			}
		})
	}
}
