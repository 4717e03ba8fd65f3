//! Where a secret was found says how it is used and who can see it.
//!
//! A token in `.github/workflows/` or a Jenkinsfile runs with the pipeline's power and is read
//! by everyone with repository access; one in terraform state or a kubeconfig opens
//! infrastructure; one under `tests/fixtures/` is most likely a deliberate fake. Classifying
//! paths is cheap, offline and explainable, so it is its own blast factor.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// CI/CD pipeline definitions.
    CiConfig,
    /// Deploy and runner scripts.
    DeployScript,
    /// Infrastructure as code, cluster manifests, state files.
    Infrastructure,
    /// kubeconfig, cloud CLI credential files.
    CredentialsFile,
    /// `.env` and similar environment files.
    EnvFile,
    /// Container build files.
    ContainerBuild,
    /// Tests, fixtures, mocks: most likely fake.
    Test,
    /// Documentation and examples.
    Docs,
    /// Anything else.
    Source,
}

impl Context {
    pub fn describe(self) -> &'static str {
        match self {
            Context::CiConfig => "in CI/CD pipeline configuration",
            Context::DeployScript => "in a deploy or runner script",
            Context::Infrastructure => "in infrastructure-as-code or cluster manifests",
            Context::CredentialsFile => "in a credentials file",
            Context::EnvFile => "in an environment (.env) file",
            Context::ContainerBuild => "in a container build file",
            Context::Test => "in tests or fixtures (likely a test value)",
            Context::Docs => "in documentation or examples (likely illustrative)",
            Context::Source => "in source or configuration",
        }
    }

    /// Contexts where a secret is live by construction: pipelines and infrastructure use it.
    pub fn is_operational(self) -> bool {
        matches!(
            self,
            Context::CiConfig
                | Context::DeployScript
                | Context::Infrastructure
                | Context::CredentialsFile
                | Context::EnvFile
                | Context::ContainerBuild
        )
    }
}

/// Classifies a display path (forward slashes; archive members as `outer!inner`).
pub fn classify(path: &str) -> Context {
    let inner = path.rsplit('!').next().unwrap_or(path);
    let lower = inner.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let dirs: Vec<&str> = lower.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    let in_dir = |names: &[&str]| dirs.iter().any(|d| names.contains(d));

    if lower.contains(".github/workflows/")
        || lower.contains(".github/actions/")
        || name == ".gitlab-ci.yml"
        || lower.contains(".gitlab-ci/")
        || name == "jenkinsfile"
        || name.ends_with(".jenkinsfile")
        || lower.contains(".circleci/")
        || name.starts_with("azure-pipelines")
        || lower.contains(".buildkite/")
        || name == ".travis.yml"
        || name == "bitbucket-pipelines.yml"
        || lower.contains(".drone")
        || name == "cloudbuild.yaml"
        || name == "buildspec.yml"
        || lower.contains(".tekton/")
        || name == ".woodpecker.yml"
    {
        return Context::CiConfig;
    }
    // Tests and docs are checked before the operational kinds: `tests/fixtures/.env` is a
    // fixture first.
    if in_dir(&[
        "test",
        "tests",
        "spec",
        "specs",
        "__tests__",
        "fixtures",
        "fixture",
        "testdata",
        "mocks",
        "__mocks__",
        "test-data",
        "test_data",
    ]) || name.contains("_test.")
        || name.contains(".test.")
        || name.contains("_spec.")
        || name.contains(".spec.")
        || name.starts_with("test_")
    {
        return Context::Test;
    }
    if in_dir(&[
        "docs", "doc", "examples", "example", "samples", "sample", "demo",
    ]) || name.ends_with(".md")
        || name.ends_with(".rst")
        || name.ends_with(".adoc")
        || name.contains(".example")
        || name.contains(".sample")
        || name.ends_with(".dist")
    {
        return Context::Docs;
    }
    if name == "kubeconfig"
        || (in_dir(&[".kube"]) && name == "config")
        || (in_dir(&[".aws"]) && (name == "credentials" || name == "config"))
        || (in_dir(&[".docker"]) && name == "config.json")
        || name == ".netrc"
        || name == "_netrc"
        || name == ".npmrc"
        || name == ".pypirc"
        || name == ".git-credentials"
        || name == "credentials.json"
        || name.ends_with(".pem")
        || name.ends_with(".key")
        || name == "id_rsa"
        || name == "id_ed25519"
        || name == "id_ecdsa"
    {
        return Context::CredentialsFile;
    }
    if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") || name == ".envrc" {
        return Context::EnvFile;
    }
    if name == "dockerfile"
        || name.starts_with("dockerfile.")
        || name.ends_with(".dockerfile")
        || name == "containerfile"
        || name.starts_with("docker-compose")
        || name.starts_with("compose.y")
    {
        return Context::ContainerBuild;
    }
    if name.ends_with(".tf")
        || name.ends_with(".tfvars")
        || name.ends_with(".tfstate")
        || name.ends_with(".tfstate.backup")
        || name.ends_with(".hcl")
        || in_dir(&[
            "helm",
            "charts",
            "k8s",
            "kubernetes",
            "manifests",
            "kustomize",
            "ansible",
            "terraform",
            "pulumi",
        ])
        || name.starts_with("values") && (name.ends_with(".yaml") || name.ends_with(".yml"))
        || name == "kustomization.yaml"
        || name == "chart.yaml"
    {
        return Context::Infrastructure;
    }
    if name.starts_with("deploy")
        || name.starts_with("release")
        || name.starts_with("provision")
        || name == "entrypoint.sh"
        || name == "docker-entrypoint.sh"
        || in_dir(&[
            "deploy",
            "deployment",
            "scripts",
            "bin",
            "ci",
            ".ci",
            "runner",
            "runners",
        ]) && (name.ends_with(".sh")
            || name.ends_with(".ps1")
            || name.ends_with(".bash")
            || name.ends_with(".py")
            || !name.contains('.'))
    {
        return Context::DeployScript;
    }
    Context::Source
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_common_paths() {
        let cases = [
            (".github/workflows/ci.yml", Context::CiConfig),
            ("sub/.gitlab-ci.yml", Context::CiConfig),
            ("Jenkinsfile", Context::CiConfig),
            (".circleci/config.yml", Context::CiConfig),
            ("azure-pipelines.yml", Context::CiConfig),
            ("infra/main.tf", Context::Infrastructure),
            ("terraform.tfstate", Context::Infrastructure),
            ("deploy/k8s/secret.yaml", Context::Infrastructure),
            ("charts/app/values.yaml", Context::Infrastructure),
            ("home/.kube/config", Context::CredentialsFile),
            (".aws/credentials", Context::CredentialsFile),
            (".env", Context::EnvFile),
            (".env.production", Context::EnvFile),
            ("Dockerfile", Context::ContainerBuild),
            ("scripts/deploy.sh", Context::DeployScript),
            ("tests/fixtures/.env", Context::Test),
            ("src/auth_test.go", Context::Test),
            ("docs/setup.md", Context::Docs),
            ("README.md", Context::Docs),
            ("config.example.yml", Context::Docs),
            ("src/main.rs", Context::Source),
            ("app.whl!app/.env", Context::EnvFile),
        ];
        for (p, want) in cases {
            assert_eq!(classify(p), want, "{p}");
        }
    }
}
