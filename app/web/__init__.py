"""The web pages: a consumer of the GraphQL API that sits beside the HTTP endpoint.

Every page reads and writes by executing a GraphQL document from `documents/` as the
signed-in user, through the endpoint's own execution path (schema, policy, limits,
audit): nothing here imports the models, the policy or the resolvers (a test checks)."""
