"""The AWS stack, one construct per concern. It names handler code by path only: nothing here imports
lambda_functions or shared_utils."""
