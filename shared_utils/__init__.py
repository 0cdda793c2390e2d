"""The domain of the options strategy platform and its adapters.

Nothing here imports from lambda_functions, cdk_stack or local_platform; collaborators (repository,
clock) are passed in so that tests can hand in fakes.
"""
