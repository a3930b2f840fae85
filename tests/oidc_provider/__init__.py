"""The OpenID provider the identity tests run (provider.mjs) and its fixture."""
