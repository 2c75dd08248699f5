// Node's options for the service as the Docker image gives them (its ENV
// NODE_OPTIONS), and npm start unless NODE_OPTIONS overrides them: a module of
// its own, so that a test can hold the three together without loading the
// benchmark's process management.
export const SERVICE_NODE_OPTIONS = '--max-old-space-size=1024'
